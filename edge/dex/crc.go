package dex

// CRC returns the CRC a G85 record carries for the records of a
// transaction set: CRC-16 as EVA-DTS uses it (the "ARC" or "IBM" CRC-16:
// polynomial x^16 + x^15 + x^2 + 1, bits reflected, i.e. 0xA001 shifted
// right, initial value 0, no final XOR) over every byte from the S of ST up
// to the end of the line before G85, each line ended by CR LF. It is
// printed as four upper-case hexadecimal digits (G8501). Parse also accepts
// the CRC over LF line ends, for a file whose line ends were converted.
func CRC(lines []string) uint16 {
	var c uint16
	for _, l := range lines {
		c = crcUpdate(c, l)
		c = crcUpdate(c, "\r\n")
	}
	return c
}

func crcUpdate(c uint16, s string) uint16 {
	for i := 0; i < len(s); i++ {
		c ^= uint16(s[i])
		for range 8 {
			if c&1 != 0 {
				c = c>>1 ^ 0xA001
			} else {
				c >>= 1
			}
		}
	}
	return c
}
