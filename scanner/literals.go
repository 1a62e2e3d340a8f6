package scanner

import (
	"bytes"
	"slices"
)

// literalMatcher finds, in one pass over a line, which rules' required
// literals it contains. It is an Aho–Corasick automaton over the literals
// folded to ASCII lower case, run on the line folded the same way. A
// case-sensitive literal then also matches other cases, which only leaves
// the decision to the rule's regexp. A line without any literal costs one
// table step per byte instead of one search per rule.
type literalMatcher struct {
	class  [256]uint8 // byte → input class; 0 is every byte in no literal
	nclass int
	// delta maps row+class to the next state's row (state*nclass), with
	// hasOutput set when a literal ends in that state, so the scan loop
	// needs no multiplication and no second lookup per byte.
	delta []int32
	outs  [][]int32 // state → indexes of the rules whose literal ends there
	words int       // uint64 words in a candidate set
	// stay marks the bytes that keep the root state, which most bytes of a
	// line do, so the scan can pass over them without the table.
	stay [256]bool
}

// hasOutput marks a delta entry whose state ends a literal.
const hasOutput = 1 << 30

// buildLiteralMatcher returns a matcher for the rules that have a
// prefilter, or nil when none has.
func buildLiteralMatcher(rules []*Rule) *literalMatcher {
	m := &literalMatcher{words: (len(rules) + 63) / 64}
	type node struct {
		next map[byte]int32
		fail int32
		out  []int32
	}
	nodes := []node{{next: map[byte]int32{}}}
	for _, r := range rules {
		if r.prefilter == nil {
			continue
		}
		for _, lit := range r.prefilter.literals {
			cur := int32(0)
			for _, c := range bytes.ToLower(lit) {
				if m.class[c] == 0 {
					m.nclass++
					m.class[c] = uint8(m.nclass)
					if c >= 'a' && c <= 'z' {
						m.class[c-'a'+'A'] = m.class[c]
					}
				}
				nxt, ok := nodes[cur].next[c]
				if !ok {
					nxt = int32(len(nodes))
					nodes = append(nodes, node{next: map[byte]int32{}})
					nodes[cur].next[c] = nxt
				}
				cur = nxt
			}
			if !slices.Contains(nodes[cur].out, int32(r.index)) {
				nodes[cur].out = append(nodes[cur].out, int32(r.index))
			}
		}
	}
	if len(nodes) == 1 {
		return nil
	}
	m.nclass++ // class 0
	m.delta = make([]int32, len(nodes)*m.nclass)
	m.outs = make([][]int32, len(nodes))
	// Breadth-first: each state's failure link points to a shallower state,
	// whose transitions are complete by the time it is used.
	queue := []int32{0}
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		n := &nodes[s]
		m.outs[s] = append(n.out, m.outs[n.fail]...)
		if s == 0 {
			m.outs[s] = n.out
		}
		for cls := 0; cls < m.nclass; cls++ {
			m.delta[int(s)*m.nclass+cls] = m.delta[int(n.fail)*m.nclass+cls]
		}
		keys := make([]int, 0, len(n.next))
		for c := range n.next {
			keys = append(keys, int(c))
		}
		slices.Sort(keys)
		for _, c := range keys {
			child := n.next[byte(c)]
			if s != 0 {
				nodes[child].fail = m.delta[int(n.fail)*m.nclass+int(m.class[c])]
			}
			m.delta[int(s)*m.nclass+int(m.class[c])] = child
			queue = append(queue, child)
		}
	}
	for c := 0; c < 256; c++ {
		m.stay[c] = m.delta[int(m.class[c])] == 0
	}
	// Turn state numbers into row offsets, flagged when they end a literal.
	for i, next := range m.delta {
		m.delta[i] = next * int32(m.nclass)
		if len(m.outs[next]) > 0 {
			m.delta[i] |= hasOutput
		}
	}
	return m
}

// scan sets in cand the bit of every rule whose literal text contains.
func (m *literalMatcher) scan(text []byte, cand []uint64) {
	clear(cand)
	row := int32(0)
	for i := 0; i < len(text); i++ {
		if row == 0 {
			for i < len(text) && m.stay[text[i]] {
				i++
			}
			if i == len(text) {
				return
			}
		}
		next := m.delta[row+int32(m.class[text[i]])]
		row = next &^ hasOutput
		if next&hasOutput != 0 {
			for _, r := range m.outs[row/int32(m.nclass)] {
				cand[r>>6] |= 1 << (r & 63)
			}
		}
	}
}
