-- A label as the profile maps it ($<column>_keys -> $<column>_values), or NULL: an exact
-- match first, as exports mostly spell labels like the profile; lower() copies every
-- string and is only worth it for the rest.
CREATE OR REPLACE MACRO main.profile_label(label, keys, label_values) AS
    coalesce(label_values[list_position(keys, label)], label_values[list_position(keys, lower(label))])
