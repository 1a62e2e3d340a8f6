package scanner

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// The fuzz targets feed arbitrary bytes to every parser. Each asserts what
// must hold for any input: no panic, output within its bounds, and the
// promises the rest of the program relies on.

func FuzzDecode(f *testing.F) {
	for _, seed := range []string{
		"2026-10-03T02:00:14.123456789Z stderr F E1003 02:00:14.123456 1 x.go:1] failed",
		"2026-10-03T02:00:14Z stdout P part",
		"2026-10-03T03:00:15.5+01:00 stdout F crio",
		`{"log":"part\n","stream":"stderr","time":"2026-10-03T02:00:00Z"}`,
		`{"log":"x","stream":"stdout","time":"bad"}`,
		"panic: boom\n\tframe",
		"2026-99-99T99:99:99Z stdout F x",
		"\x00\xff\xfe",
	} {
		f.Add([]byte(seed), []byte("\tat x.y(Z.java:1)"))
	}
	f.Fuzz(func(t *testing.T, first, second []byte) {
		d := NewDecoder(&Source{}, time.Time{})
		d.SetMaxLineBytes(64)
		d.SetMultiline(&Multiline{MaxLines: 3, MaxBytes: 64, Timeout: time.Second})
		n := 0
		emit := func(l *Line) {
			n++
			if len(l.Text) > 64 {
				t.Fatalf("line of %d bytes exceeds the 64-byte cap", len(l.Text))
			}
			l.Level()
			l.Fields()
		}
		for _, raw := range bytes.Split(append(append(first, '\n'), second...), []byte("\n")) {
			d.Decode(raw, emit)
		}
		d.Flush(emit)
		if int64(n) != d.Stats.Lines {
			t.Fatalf("emitted %d lines, stats say %d", n, d.Stats.Lines)
		}
	})
}

func FuzzParseMessageTime(f *testing.F) {
	for _, seed := range []string{
		"E0218 17:54:34.532602 1 sync.go:264] failed", "2022/08/18 20:22:19 x", "Jan 06 03:49:15 host k[1]: x",
		`time="2025-11-05T09:56:32Z" level=error`, `{"ts":1760000000.5}`, `{"time":"2026-02-01T10:00:00Z"}`,
		"Feb 31 25:61:61 x", "2026-13-45T00:00:00Z x",
	} {
		f.Add(seed)
	}
	ref := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, text string) {
		tm, ok := parseMessageTime([]byte(text), ref)
		if ok && tm.IsZero() {
			t.Fatalf("reported a zero time for %q", text)
		}
		detectLevel([]byte(text))
		if ts, ok := parseRFC3339([]byte(text)); ok && ts.Year() > 9999 {
			t.Fatalf("year %d from %q", ts.Year(), text)
		}
	})
}

func FuzzFields(f *testing.F) {
	for _, seed := range []string{
		`E0618 11:50:27.041578 1 sync.go:190] "propagation check failed" err="DNS \"x\"" type="DNS-01"`,
		`cert-manager/orders "msg"="failed" "error"="429 urn:ietf:params:acme:error:rateLimited"`,
		`time="2025-11-05T09:56:32Z" level=error msg="x\"y" zone=`,
		`{"level":"warn","took":"1.5s","nested":{"a":1},"arr":[1,2]}`,
		`key="unterminated`, `="x"`, `"a"="b"="c"`,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, text string) {
		l := &Line{Text: []byte(text)}
		// Quoted keys may hold any text (logr writes "msg"="..."), but a key
		// is never empty, since readToken skips an empty bare word.
		for k := range l.Fields() {
			if k == "" {
				t.Fatalf("empty field key from %q", text)
			}
		}
	})
}

func FuzzParseRules(f *testing.F) {
	f.Add("[[rule]]\nname = \"a\"\nseverity = \"info\"\nmatch = \"x(?P<h>y)\"\nsummary = \"{{.h}}\"\ngroup_by = [\"h\"]\n")
	f.Add("[[rule]]\nname = \"a\"\nkind = \"volume\"\nseverity = \"warning\"\nfor = \"1h\"\n[rule.fields]\ntook = { gt = \"1s\" }\n")
	f.Add("[multiline]\ntimeout = \"1s\"\n[[multiline.container]]\ncontainers = [\"x\"]\nstart = \"^a\"\ncontinue = \"^b\"\n")
	f.Add("[[rule]]\nname = '''\n'''\n")
	f.Fuzz(func(t *testing.T, text string) {
		rs, err := ParseRules("fuzz.toml", []byte(text))
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz.toml") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		// A rule set that loads must run without panicking on any line.
		e := NewEngine(rs, EngineOptions{})
		src := &Source{Namespace: "ns", Pod: "p", Container: "c"}
		for i, line := range []string{"x y", "E0101 00:00:00.000000 1 a.go:1] failed err=\"x\"", `{"level":"error","took":"2s"}`} {
			e.Process(&Line{Time: time.Unix(int64(i)*60, 0), Text: []byte(line), Source: src})
		}
		e.Advance(time.Unix(7200, 0))
		e.Flush()
	})
}

func FuzzRenderSummary(f *testing.F) {
	f.Add("{{.message}} on {{.pod}}", "a line")
	f.Add("{{if .x}}{{.x}}{{else}}none{{end}}", "\xff\xfe")
	f.Add("{{printf \"%0999999d\" 1}}", "x")
	f.Fuzz(func(t *testing.T, tmplText, message string) {
		data := "[[rule]]\nname = \"a\"\nseverity = \"info\"\nmatch = \"(?P<x>.)\"\nsummary = " + tomlQuote(tmplText) + "\n"
		rs, err := ParseRules("t.toml", []byte(data))
		if err != nil {
			return
		}
		var got *Alert
		e := NewEngine(rs, EngineOptions{Emit: func(a *Alert) { got = a }})
		e.Process(&Line{Text: []byte(message + "z"), Source: &Source{}})
		if got != nil && len(got.Summary) > maxSummaryBytes {
			t.Fatalf("summary of %d bytes exceeds %d", len(got.Summary), maxSummaryBytes)
		}
	})
}

func tomlQuote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f || r == utf8.RuneError:
			b.WriteString(" ")
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

func FuzzReplayStdin(f *testing.F) {
	f.Add("2026-10-03T02:00:00Z stdout P a\n2026-10-03T02:00:00Z stdout F b\npanic: x\n\tframe\n")
	f.Add(passByStream(7, 40))
	passBy, err := ParseRules("passby.toml", []byte(passByRules))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, input string) {
		rs, err := ParseRules("r.toml", []byte("[[rule]]\nname = \"a\"\nseverity = \"info\"\nmatch = \"b|frame\"\n"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Replay(context.Background(), rs, []string{"-"}, ReplayOptions{Stdin: strings.NewReader(input), MaxLineBytes: 128}); err != nil {
			t.Fatalf("replay of standard input failed: %v", err)
		}
		// Lines that pass the engine by must change nothing.
		var outcomes [2]string
		for i, all := range []bool{true, false} {
			var b strings.Builder
			stats, err := Replay(context.Background(), passBy, []string{"-"}, ReplayOptions{
				Stdin:      strings.NewReader(input),
				Emit:       func(a *Alert) { fmt.Fprintf(&b, "%+v\n", *a) },
				Matched:    func(l *Line) { fmt.Fprintf(&b, "%s %q\n", l.Time, l.Text) },
				processAll: all,
				now:        func() time.Time { return time.Date(2026, 10, 3, 2, 0, 0, 0, time.UTC) },
			})
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&b, "%d lines, %d matches", stats.Lines, stats.Matches)
			outcomes[i] = b.String()
		}
		if outcomes[0] != outcomes[1] {
			t.Fatalf("passing lines by changed the outcome:\n%s\n%s", outcomes[0], outcomes[1])
		}
	})
}
