package jsonappend

// maxDepth is encoding/json's nesting limit: a value nested deeper is not
// valid to it, so it is not to Valid either.
const maxDepth = 10000

// Valid reports whether data is one JSON value (with whitespace around it),
// accepting exactly what encoding/json's Valid accepts: the same grammar,
// the same nesting limit, and any byte from 0x20 up inside a string (it
// does not check UTF-8). It is a plain recursive descent, several times
// faster than encoding/json's state machine, which calls a function per
// byte: an audit list's details were a quarter of its CPU there.
func Valid(data []byte) bool {
	p := parser{b: data}
	p.space()
	if !p.value(0) {
		return false
	}
	p.space()
	return p.i == len(p.b)
}

// plainInString holds the bytes a string may hold as they are: all but
// control characters, the quote and the backslash.
var plainInString = func() (t [256]bool) {
	for c := 0x20; c < 256; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

type parser struct {
	b []byte
	i int
}

func (p *parser) space() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\r', '\n':
			p.i++
		default:
			return
		}
	}
}

// value reads one value at nesting depth (the containers around it).
func (p *parser) value(depth int) bool {
	if p.i >= len(p.b) {
		return false
	}
	switch c := p.b[p.i]; {
	case c == '"':
		return p.str()
	case c == '{':
		return p.container(depth+1, '}')
	case c == '[':
		return p.container(depth+1, ']')
	case c == '-' || c >= '0' && c <= '9':
		return p.number()
	case c == 't':
		return p.word("true")
	case c == 'f':
		return p.word("false")
	case c == 'n':
		return p.word("null")
	}
	return false
}

func (p *parser) word(w string) bool {
	if len(p.b)-p.i < len(w) || string(p.b[p.i:p.i+len(w)]) != w {
		return false
	}
	p.i += len(w)
	return true
}

func (p *parser) str() bool {
	b, i := p.b, p.i+1 // past the opening quote
	for i < len(b) {
		c := b[i]
		i++
		if plainInString[c] {
			continue // the common byte: one lookup, no switch
		}
		switch c {
		case '"':
			p.i = i
			return true
		case '\\':
			if i >= len(b) {
				return false
			}
			e := b[i]
			i++
			switch e {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if len(b)-i < 4 {
					return false
				}
				for _, h := range b[i : i+4] {
					if !(h >= '0' && h <= '9' || h >= 'a' && h <= 'f' || h >= 'A' && h <= 'F') {
						return false
					}
				}
				i += 4
			default:
				return false
			}
		default: // a control character
			return false
		}
	}
	return false
}

// digits reads one or more decimal digits.
func (p *parser) digits() bool {
	start := p.i
	for p.i < len(p.b) && p.b[p.i] >= '0' && p.b[p.i] <= '9' {
		p.i++
	}
	return p.i > start
}

func (p *parser) number() bool {
	if p.b[p.i] == '-' {
		p.i++
	}
	if p.i >= len(p.b) {
		return false
	}
	if p.b[p.i] == '0' {
		p.i++
	} else if !p.digits() {
		return false
	}
	if p.i < len(p.b) && p.b[p.i] == '.' {
		p.i++
		if !p.digits() {
			return false
		}
	}
	if p.i < len(p.b) && (p.b[p.i] == 'e' || p.b[p.i] == 'E') {
		p.i++
		if p.i < len(p.b) && (p.b[p.i] == '+' || p.b[p.i] == '-') {
			p.i++
		}
		if !p.digits() {
			return false
		}
	}
	return true
}

// container reads an object (close '}') or an array (close ']') from its
// opening byte: its members, separated by commas, each a name and a colon
// first in an object.
func (p *parser) container(depth int, close byte) bool {
	if depth > maxDepth {
		return false
	}
	p.i++ // { or [
	p.space()
	if p.i < len(p.b) && p.b[p.i] == close {
		p.i++
		return true
	}
	for {
		if close == '}' && !p.name() {
			return false
		}
		if !p.value(depth) {
			return false
		}
		p.space()
		if p.i >= len(p.b) {
			return false
		}
		switch p.b[p.i] {
		case ',':
			p.i++
			p.space()
		case close:
			p.i++
			return true
		default:
			return false
		}
	}
}

// name reads an object member's name, its colon and the space around.
func (p *parser) name() bool {
	if p.i >= len(p.b) || p.b[p.i] != '"' || !p.str() {
		return false
	}
	p.space()
	if p.i >= len(p.b) || p.b[p.i] != ':' {
		return false
	}
	p.i++
	p.space()
	return true
}
