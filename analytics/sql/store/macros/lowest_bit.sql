-- The lowest set bit's position (0..63) of a non-zero bit set; 0 for 0.
CREATE OR REPLACE MACRO main.lowest_bit(bits) AS
bit_count(xor(greatest(bits, 1::UBIGINT), greatest(bits, 1::UBIGINT) & (greatest(bits, 1::UBIGINT) - 1)) - 1)
