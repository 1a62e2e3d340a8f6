package scanner

import (
	"encoding/binary"
	"slices"
)

// gramFilter reports whether a line contains any rule literal, looking at
// only every step-th 4-byte window of the line. A literal of length n
// covers n-3 consecutive window positions, and every run of step of them
// contains one sampled position, so filing step consecutive windows of each
// literal is enough to meet every occurrence. With the shipped rules the
// shortest literal has 7 bytes, so a line costs a quarter of a table test
// per byte, where an automaton costs one per byte.
//
// The windows filed are the least common ones of each literal, to keep the
// lines that reach the exact comparison few: a window of "[FATAL] " like
// "FATA" is rarer in logs than " to ".
type gramFilter struct {
	step int
	bits *[1 << gramBits / 64]uint64 // one bit per hash of a filed window
	// slots is an open-addressing table from a filed window, placed at its
	// hash, to the literals that contain it, for the exact comparison. It is far
	// cheaper than a map for the lookup most lines make once or twice.
	slots []gramSlot
	refs  []gramRef
	lits  []gramLiteral
}

// gramSlot files one window: refs[start:end] are the literals that contain it.
type gramSlot struct {
	gram       uint32
	start, end uint32
}

type gramRef struct {
	lit int32
	off int32
}

type gramLiteral struct {
	text []byte
	fold bool // text is lower case and compares ASCII case-insensitively
}

const (
	gramBits = 16
	// maxGramStep bounds the stride; a longer one files more windows per
	// literal and gains little.
	maxGramStep = 8
)

// buildGramFilter returns a filter for the literals of the rules that have a
// prefilter, or nil when some literal is shorter than a window, or no rule
// has literals.
func buildGramFilter(rules []*Rule) *gramFilter {
	g := &gramFilter{bits: new([1 << gramBits / 64]uint64), slots: make([]gramSlot, 1<<gramBits)}
	grams := map[uint32][]gramRef{}
	shortest := 1 << 30
	for _, r := range rules {
		if r.prefilter == nil {
			continue
		}
		for _, lit := range r.prefilter.literals {
			if !slices.ContainsFunc(g.lits, func(l gramLiteral) bool { return l.fold == r.prefilter.fold && string(l.text) == string(lit) }) {
				g.lits = append(g.lits, gramLiteral{text: lit, fold: r.prefilter.fold})
			}
			shortest = min(shortest, len(lit))
		}
	}
	if len(g.lits) == 0 || shortest < 4 {
		return nil
	}
	g.step = min(shortest-3, maxGramStep)
	for i, lit := range g.lits {
		start := rarestWindows(lit.text, g.step)
		for off := start; off < start+g.step; off++ {
			for _, v := range gramVariants(lit.text[off:off+4], lit.fold) {
				h := gramHash(v)
				g.bits[h>>6] |= 1 << (h & 63)
				ref := gramRef{lit: int32(i), off: int32(off)}
				if !slices.Contains(grams[v], ref) {
					grams[v] = append(grams[v], ref)
				}
			}
		}
	}
	for v, refs := range grams {
		i := gramHash(v)
		for g.slots[i].end != 0 {
			i = (i + 1) % uint32(len(g.slots))
		}
		g.slots[i] = gramSlot{gram: v, start: uint32(len(g.refs)), end: uint32(len(g.refs) + len(refs))}
		g.refs = append(g.refs, refs...)
	}
	return g
}

// lookup returns the literals that contain the window v.
func (g *gramFilter) lookup(v uint32) []gramRef {
	for i := gramHash(v); g.slots[i].end != 0; i = (i + 1) % uint32(len(g.slots)) {
		if g.slots[i].gram == v {
			return g.refs[g.slots[i].start:g.slots[i].end]
		}
	}
	return nil
}

func gramHash(v uint32) uint32 { return (v * 0x9E3779B1) >> (32 - gramBits) }

// rarestWindows returns the offset of the step consecutive windows of lit
// least likely to occur in log text.
func rarestWindows(lit []byte, step int) int {
	best, bestCost := 0, -1
	for start := 0; start+step+3 <= len(lit); start++ {
		cost := 0
		for off := start; off < start+step; off++ {
			for _, c := range lit[off : off+4] {
				cost += byteCommonness(c)
			}
		}
		if bestCost < 0 || cost < bestCost {
			best, bestCost = start, cost
		}
	}
	return best
}

// byteCommonness ranks how often a byte appears in system component logs:
// spaces and the common lower-case letters most, then digits and the
// punctuation of timestamps, paths and key=value pairs, then the rest.
func byteCommonness(c byte) int {
	switch {
	case c == ' ':
		return 12
	case c >= 'A' && c <= 'Z':
		return 3
	case c >= '0' && c <= '9':
		return 7
	}
	switch c {
	case 'e', 't', 'a', 'o', 'i', 'n', 's', 'r':
		return 10
	case 'h', 'l', 'd', 'c', 'u', 'm':
		return 8
	case 'f', 'p', 'g', 'w', 'y', 'b':
		return 6
	case 'v', 'k', 'x', 'j', 'q', 'z':
		return 3
	case '.', ':', '/', '-', '_', '"', '=', ',':
		return 7
	}
	return 2
}

// gramVariants returns the window as a little-endian word, and for a folded
// literal every upper- and lower-case spelling of it.
func gramVariants(w []byte, fold bool) []uint32 {
	out := []uint32{binary.LittleEndian.Uint32(w)}
	if !fold {
		return out
	}
	for i, c := range w {
		if c < 'a' || c > 'z' {
			continue
		}
		for _, v := range out {
			out = append(out, v&^(0x20<<(8*i)))
		}
	}
	return out
}

// any reports whether text contains one of the literals.
func (g *gramFilter) any(text []byte) bool {
	bits, step := g.bits, g.step
	for p := 0; p+4 <= len(text); p += step {
		v := binary.LittleEndian.Uint32(text[p : p+4])
		h := gramHash(v)
		if bits[h>>6]&(1<<(h&63)) != 0 && g.verify(text, p, v) {
			return true
		}
	}
	return false
}

// verify compares the literals filed under the window at p with the text
// around it.
func (g *gramFilter) verify(text []byte, p int, v uint32) bool {
	for _, ref := range g.lookup(v) {
		lit := &g.lits[ref.lit]
		start := p - int(ref.off)
		if start < 0 || start+len(lit.text) > len(text) {
			continue
		}
		if lit.fold && equalFoldLower(text[start:start+len(lit.text)], lit.text) ||
			!lit.fold && string(text[start:start+len(lit.text)]) == string(lit.text) {
			return true
		}
	}
	return false
}

// equalFoldLower reports whether b equals lower, which is ASCII lower case,
// ignoring ASCII case.
func equalFoldLower(b, lower []byte) bool {
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}
