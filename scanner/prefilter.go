package scanner

import (
	"bytes"
	"regexp/syntax"
	"slices"
	"unicode"
	"unicode/utf8"
)

// prefilter is a cheap test that every line a rule's pattern matches must
// pass: the line contains at least one of the literals. A regexp runs only on
// lines that pass, which makes rules that match rarely nearly free.
type prefilter struct {
	literals [][]byte
	fold     bool // compare ASCII case-insensitively; literals are lower case
}

// minLiteral is the shortest literal worth a search; shorter ones pass too
// many lines to pay for themselves.
const minLiteral = 3

// maxAlternatives bounds how many literals one prefilter may test.
const maxAlternatives = 32

// buildPrefilter derives a prefilter from a pattern, or returns nil when the
// pattern has no literal every match must contain.
func buildPrefilter(pattern string) *prefilter {
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return nil
	}
	set, ok := requiredLiterals(re.Simplify())
	if !ok || len(set.lits) == 0 {
		return nil
	}
	p := &prefilter{fold: set.fold}
	for _, lit := range set.lits {
		if len(lit) < minLiteral {
			return nil
		}
		if set.fold {
			lit = asciiFoldSafe(lit)
			if len(lit) < minLiteral {
				return nil
			}
			lit = string(bytes.ToLower([]byte(lit)))
		}
		p.literals = append(p.literals, []byte(lit))
	}
	return p
}

// asciiFoldSafe returns the longest part of a case-insensitive literal that
// an ASCII comparison can find. Unicode folding makes "s" match "ſ" (U+017F)
// and "k" match the Kelvin sign, so those runes, and any non-ASCII rune, end
// a part.
func asciiFoldSafe(lit string) string {
	best, start := "", 0
	runes := []rune(lit)
	for i := 0; i <= len(runes); i++ {
		if i < len(runes) && asciiOrbit(runes[i]) {
			continue
		}
		if part := string(runes[start:i]); len(part) > len(best) {
			best = part
		}
		start = i + 1
	}
	return best
}

// asciiOrbit reports whether every rune that folds to r is ASCII.
func asciiOrbit(r rune) bool {
	if r >= utf8.RuneSelf {
		return false
	}
	for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
		if f >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// literalSet is a set of alternatives one of which every match contains.
type literalSet struct {
	lits []string
	fold bool
}

// score ranks sets: a longer shortest literal filters more lines, and fewer
// alternatives cost fewer searches.
func (s literalSet) score() int {
	shortest := 1 << 30
	for _, l := range s.lits {
		shortest = min(shortest, len(l))
	}
	return shortest*64 - len(s.lits)
}

func requiredLiterals(re *syntax.Regexp) (literalSet, bool) {
	switch re.Op {
	case syntax.OpLiteral:
		return literalSet{lits: []string{string(re.Rune)}, fold: re.Flags&syntax.FoldCase != 0}, true
	case syntax.OpCapture, syntax.OpPlus:
		return requiredLiterals(re.Sub[0])
	case syntax.OpRepeat:
		if re.Min >= 1 {
			return requiredLiterals(re.Sub[0])
		}
	case syntax.OpConcat:
		return concatLiterals(re.Sub)
	case syntax.OpAlternate:
		var all literalSet
		for _, sub := range re.Sub {
			set, ok := requiredLiterals(sub)
			if !ok {
				return literalSet{}, false
			}
			all.lits = append(all.lits, set.lits...)
			all.fold = all.fold || set.fold
		}
		if len(all.lits) > maxAlternatives {
			return literalSet{}, false
		}
		return all, true
	}
	return literalSet{}, false
}

// concatLiterals picks the best literal set of a concatenation: the set of
// one part, or the strings that a run of consecutive parts with a small,
// exact set of matches spell together. "(?:panic|fatal error): " gives
// "panic: " and "fatal error: ", longer than any part alone, and longer
// literals let the prefilter skip more of each line.
func concatLiterals(subs []*syntax.Regexp) (literalSet, bool) {
	best, found := literalSet{}, false
	consider := func(set literalSet) {
		if !found || set.score() > best.score() {
			best, found = set, true
		}
	}
	var run literalSet
	inRun := false
	endRun := func() {
		if inRun {
			consider(run)
		}
		inRun = false
	}
	for _, sub := range subs {
		if set, ok := requiredLiterals(sub); ok {
			consider(set)
		}
		exact, ok := exactStrings(sub)
		if !ok {
			endRun()
			continue
		}
		if inRun {
			if product, ok := crossProduct(run, exact); ok {
				run = product
				continue
			}
			endRun()
		}
		run, inRun = exact, true
	}
	endRun()
	return best, found
}

// exactStrings returns every string re can match, when they are few.
func exactStrings(re *syntax.Regexp) (literalSet, bool) {
	switch re.Op {
	case syntax.OpLiteral:
		if re.Flags&syntax.FoldCase != 0 {
			return foldVariants(re.Rune)
		}
		return literalSet{lits: []string{string(re.Rune)}}, true
	case syntax.OpEmptyMatch, syntax.OpBeginLine, syntax.OpEndLine, syntax.OpBeginText, syntax.OpEndText,
		syntax.OpWordBoundary, syntax.OpNoWordBoundary:
		return literalSet{lits: []string{""}}, true
	case syntax.OpCapture:
		return exactStrings(re.Sub[0])
	case syntax.OpQuest:
		set, ok := exactStrings(re.Sub[0])
		if !ok || len(set.lits) >= maxAlternatives {
			return literalSet{}, false
		}
		set.lits = append(set.lits, "")
		return set, true
	case syntax.OpCharClass:
		var set literalSet
		for i := 0; i+1 < len(re.Rune); i += 2 {
			for r := re.Rune[i]; r <= re.Rune[i+1]; r++ {
				if len(set.lits) == maxAlternatives {
					return literalSet{}, false
				}
				set.lits = append(set.lits, string(r))
			}
		}
		return set, len(set.lits) > 0
	case syntax.OpConcat:
		set := literalSet{lits: []string{""}}
		for _, sub := range re.Sub {
			exact, ok := exactStrings(sub)
			if !ok {
				return literalSet{}, false
			}
			if set, ok = crossProduct(set, exact); !ok {
				return literalSet{}, false
			}
		}
		return set, true
	case syntax.OpAlternate:
		var all literalSet
		for _, sub := range re.Sub {
			set, ok := exactStrings(sub)
			if !ok || len(all.lits)+len(set.lits) > maxAlternatives {
				return literalSet{}, false
			}
			all.lits = append(all.lits, set.lits...)
			all.fold = all.fold || set.fold
		}
		return all, true
	}
	return literalSet{}, false
}

// foldVariants spells out every string a case-insensitive literal matches,
// such as "F" and "f" for the "[Ff]" of "[Ff]ailed", so that the literal can
// join a longer case-sensitive one. A literal with more variants than
// maxAlternatives stays one folded literal.
func foldVariants(runes []rune) (literalSet, bool) {
	set := literalSet{lits: []string{""}}
	for _, r := range runes {
		orbit := literalSet{lits: []string{string(r)}}
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			orbit.lits = append(orbit.lits, string(f))
		}
		var ok bool
		if set, ok = crossProduct(set, orbit); !ok {
			return literalSet{lits: []string{string(runes)}, fold: true}, true
		}
	}
	return set, true
}

// crossProduct returns every string of a followed by one of b, unless there
// are more than maxAlternatives.
func crossProduct(a, b literalSet) (literalSet, bool) {
	if len(a.lits)*len(b.lits) > maxAlternatives {
		return literalSet{}, false
	}
	out := literalSet{fold: a.fold || b.fold, lits: make([]string, 0, len(a.lits)*len(b.lits))}
	for _, x := range a.lits {
		for _, y := range b.lits {
			if s := x + y; !slices.Contains(out.lits, s) {
				out.lits = append(out.lits, s)
			}
		}
	}
	return out, true
}

// pass reports whether text (or lower, its ASCII lower-case copy, for a
// case-insensitive prefilter) contains one of the literals.
func (p *prefilter) pass(text, lower []byte) bool {
	if p.fold {
		text = lower
	}
	for _, lit := range p.literals {
		if bytes.Contains(text, lit) {
			return true
		}
	}
	return false
}
