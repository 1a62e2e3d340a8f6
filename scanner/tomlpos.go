package scanner

import (
	"strings"
)

// tomlPositions records where each [[rule]] table and each of its keys start
// in a rules file. BurntSushi/toml reports positions only for syntax errors,
// so the loader uses this index to name the line of a bad key or value.
type tomlPositions struct {
	rules []rulePositions
}

type rulePositions struct {
	line int            // the [[rule]] header
	keys map[string]int // key as written (dotted for sub-tables) → line
}

// indexTOML scans the text line by line, skipping the bodies of multi-line
// strings, and records the [[rule]] headers and the keys below them.
func indexTOML(data []byte) *tomlPositions {
	idx := &tomlPositions{}
	var inString string // the delimiter of an open multi-line string
	table := ""
	for n, line := range strings.Split(string(data), "\n") {
		lineNo := n + 1
		if inString != "" {
			if strings.Contains(line, inString) {
				inString = ""
			}
			continue
		}
		trimmed := strings.TrimSpace(line)
		switch {
		case trimmed == "" || trimmed[0] == '#':
			continue
		case strings.HasPrefix(trimmed, "[["):
			name := strings.TrimSpace(strings.Trim(strings.SplitN(trimmed, "#", 2)[0], "[] \t"))
			if name == "rule" {
				idx.rules = append(idx.rules, rulePositions{line: lineNo, keys: map[string]int{}})
				table = ""
			} else {
				table = strings.TrimPrefix(name, "rule.")
			}
			continue
		case trimmed[0] == '[':
			name := strings.TrimSpace(strings.Trim(strings.SplitN(trimmed, "#", 2)[0], "[] \t"))
			table = strings.TrimPrefix(name, "rule.")
			continue
		}
		key, value, ok := strings.Cut(trimmed, "=")
		if !ok || len(idx.rules) == 0 {
			continue
		}
		key = strings.Trim(strings.TrimSpace(key), `"'`)
		if table != "" {
			key = table + "." + key
		}
		r := &idx.rules[len(idx.rules)-1]
		if _, seen := r.keys[key]; !seen {
			r.keys[key] = lineNo
		}
		value = strings.TrimSpace(value)
		for _, delim := range []string{`"""`, `'''`} {
			if strings.HasPrefix(value, delim) && !strings.Contains(value[3:], delim) {
				inString = delim
			}
		}
	}
	return idx
}

// line returns the line of key in rule i, or of the rule's header when the key
// was not found, or 0 when the rule is unknown.
func (p *tomlPositions) line(i int, key string) int {
	if i < 0 || i >= len(p.rules) {
		return 0
	}
	if l, ok := p.rules[i].keys[key]; ok {
		return l
	}
	return p.rules[i].line
}
