package scanner

import (
	"path/filepath"
	"strings"
)

// Source is the metadata of one log file. Fields the path does not carry are
// empty: a plain file outside the kubelet's folders has only Path.
type Source struct {
	Path      string
	Namespace string
	Pod       string
	PodUID    string
	Container string
	Node      string

	// rules caches the rules whose metadata selectors accept this source;
	// the engine fills it on the first line.
	rules      []*Rule
	rulesFor   *RuleSet
	maxContext int
	history    *history
	// passable is whether a line without rule literals can pass the engine
	// by (see Engine.PassBy). passLevels are the levels for which it still
	// cannot, because a rule without literals selects them.
	passable   bool
	passLevels uint8
}

// SourceFromPath parses the kubelet's log paths:
//
//	<root>/<namespace>_<pod>_<uid>/<container>/<n>.log, with the rotated
//	siblings <n>.log.<YYYYMMDD-hhmmss> and <n>.log.<YYYYMMDD-hhmmss>.gz
//	<root>/<pod>_<namespace>_<container>-<container id>.log
//
// The first form is tried first because names in it are never cut short; the
// kubelet cuts the second form's whole name to 255 bytes.
func SourceFromPath(path string) *Source {
	src := &Source{Path: path}
	dir, file := filepath.Split(path)
	if isContainerLogName(file) {
		podDir := filepath.Dir(filepath.Clean(dir))
		container := filepath.Base(filepath.Clean(dir))
		parts := strings.Split(filepath.Base(podDir), "_")
		if len(parts) == 3 && parts[0] != "" && parts[1] != "" && parts[2] != "" && container != "" {
			src.Namespace, src.Pod, src.PodUID, src.Container = parts[0], parts[1], parts[2], container
			return src
		}
	}
	if name, ok := strings.CutSuffix(file, ".log"); ok {
		// <pod>_<namespace>_<container>-<64 hex digits>
		parts := strings.Split(name, "_")
		if len(parts) == 3 {
			container := parts[2]
			if i := strings.LastIndexByte(container, '-'); i > 0 && isHex(container[i+1:]) {
				container = container[:i]
			}
			if parts[0] != "" && parts[1] != "" && container != "" {
				src.Pod, src.Namespace, src.Container = parts[0], parts[1], container
			}
		}
	}
	return src
}

// isContainerLogName reports whether name is <n>.log or one of its rotated
// siblings, <n>.log.<YYYYMMDD-hhmmss> with an optional .gz.
func isContainerLogName(name string) bool {
	n, rest, ok := strings.Cut(name, ".log")
	if !ok || n == "" || !isDigits(n) {
		return false
	}
	if rest == "" {
		return true
	}
	rest = strings.TrimSuffix(rest, ".gz")
	return len(rest) == len(".20060102-150405") && rest[0] == '.' && rest[9] == '-' &&
		isDigits(rest[1:9]) && isDigits(rest[10:])
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return s != ""
}
