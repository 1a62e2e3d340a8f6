package scanner

import (
	"bytes"
	"math/rand/v2"
	"strings"
	"testing"
)

// gramRules have literals of 4 to 9 bytes, folded and not, so the filter
// runs with a short stride and with case variants.
const gramRules = `
[[rule]]
name = "short"
severity = "info"
match = 'OOMKilled|NOSPACE'
[[rule]]
name = "folded"
severity = "info"
match = '(?i)throttled'
[[rule]]
name = "four"
severity = "info"
match = 'oops'
`

// checkGramFilter fails unless the filter reports exactly the texts that
// contain one of its literals, compared case-insensitively for folded ones.
func checkGramFilter(t *testing.T, g *gramFilter, text string) {
	t.Helper()
	want := false
	for _, lit := range g.lits {
		if lit.fold && bytes.Contains(bytes.ToLower([]byte(text)), lit.text) || !lit.fold && strings.Contains(text, string(lit.text)) {
			want = true
		}
	}
	if got := g.any([]byte(text)); got != want {
		t.Fatalf("gram filter (stride %d) says %v for %q, want %v", g.step, got, text, want)
	}
}

func gramFilterOf(t testing.TB, name, rules string) *gramFilter {
	t.Helper()
	var rs *RuleSet
	var err error
	if rules == "" {
		rs, err = LoadRules(name)
	} else {
		rs, err = ParseRules(name, []byte(rules))
	}
	if err != nil {
		t.Fatal(err)
	}
	if rs.grams == nil {
		t.Fatalf("%s: no gram filter", name)
	}
	return rs.grams
}

func TestGramFilterFindsLiteralsAtEveryOffset(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 2))
	filler := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = "abcdefghijklmnopqrstuvwxyz ABCDEFXYZ0123456789:=\"/."[rnd.IntN(51)]
		}
		return string(b)
	}
	for _, g := range []*gramFilter{gramFilterOf(t, "../rules.toml", ""), gramFilterOf(t, "grams.toml", gramRules)} {
		for _, lit := range g.lits {
			for _, text := range []string{string(lit.text), strings.ToUpper(string(lit.text))} {
				for before := 0; before <= 2*g.step+1; before++ {
					checkGramFilter(t, g, filler(before)+text+filler(rnd.IntN(9)))
				}
				// Cut short by one byte at either end, the literal is gone.
				checkGramFilter(t, g, filler(3)+text[1:])
				checkGramFilter(t, g, text[:len(text)-1])
			}
		}
		for range 2000 {
			checkGramFilter(t, g, filler(rnd.IntN(300)))
		}
	}
}

func TestGramFilterStride(t *testing.T) {
	if g := gramFilterOf(t, "../rules.toml", ""); g.step != 4 {
		t.Errorf("shipped rules: stride %d, want 4 (the shortest literal, %q, has 7 bytes)", g.step, "panic: ")
	}
	if g := gramFilterOf(t, "grams.toml", gramRules); g.step != 1 {
		t.Errorf("stride %d, want 1 for a 4-byte literal", g.step)
	}
	rs, err := ParseRules("short.toml", []byte("[[rule]]\nname = \"a\"\nseverity = \"info\"\nmatch = 'abc'\n"))
	if err != nil {
		t.Fatal(err)
	}
	if rs.grams != nil {
		t.Error("a 3-byte literal fits no 4-byte window, but a gram filter was built")
	}
}

func FuzzGramFilter(f *testing.F) {
	shipped := gramFilterOf(f, "../rules.toml", "")
	short := gramFilterOf(f, "grams.toml", gramRules)
	for _, g := range []*gramFilter{shipped, short} {
		for _, lit := range g.lits {
			f.Add("x " + string(lit.text) + " y")
		}
	}
	f.Add("THROTTLED oOmKiLlEd")
	f.Fuzz(func(t *testing.T, text string) {
		checkGramFilter(t, shipped, text)
		checkGramFilter(t, short, text)
	})
}
