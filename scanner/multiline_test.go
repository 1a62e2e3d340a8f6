package scanner

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

// decodeJoined decodes CRI-wrapped lines, all at one time unless the text
// starts with "+<duration> ", with multi-line joining on.
func decodeJoined(t *testing.T, m *Multiline, texts ...string) []string {
	t.Helper()
	d := NewDecoder(&Source{}, t0)
	d.SetMultiline(m)
	var out []string
	emit := func(l *Line) { out = append(out, l.Stream+"|"+string(l.Text)) }
	at := t0
	for _, text := range texts {
		stream := "stderr"
		if rest, ok := strings.CutPrefix(text, "out:"); ok {
			stream, text = "stdout", rest
		}
		if rest, ok := strings.CutPrefix(text, "+"); ok {
			delay, body, _ := strings.Cut(rest, " ")
			dur, err := time.ParseDuration(delay)
			if err != nil {
				t.Fatal(err)
			}
			at, text = at.Add(dur), body
		}
		d.Decode([]byte(fmt.Sprintf("%s %s F %s", at.Format(time.RFC3339Nano), stream, text)), emit)
	}
	d.Flush(emit)
	return out
}

func TestMultilineGoPanic(t *testing.T) {
	got := decodeJoined(t, &DefaultMultiline,
		"I1003 02:00:14.123456 1 main.go:10] starting",
		"panic: runtime error: invalid memory address or nil pointer dereference",
		"[signal SIGSEGV: segmentation violation code=0x1 addr=0x0 pc=0x1234]",
		"",
		"goroutine 1 [running]:",
		"github.com/cert-manager/cert-manager/pkg/controller.(*controller).worker(0xc000132000)",
		"\t/go/src/pkg/controller/controller.go:155 +0x1d",
		"created by github.com/cert-manager/cert-manager/pkg/controller.(*controller).Run in goroutine 7",
		"\t/go/src/pkg/controller/controller.go:120 +0x2a",
		"I1003 02:00:15.000000 1 main.go:10] restarted",
	)
	if len(got) != 3 {
		t.Fatalf("got %d events, want 3:\n%s", len(got), strings.Join(got, "\n---\n"))
	}
	if !strings.HasPrefix(got[1], "stderr|panic: runtime error") || !strings.HasSuffix(got[1], "controller.go:120 +0x2a") || strings.Count(got[1], "\n") != 7 {
		t.Errorf("panic event:\n%s", got[1])
	}
}

func TestMultilineJavaAndPython(t *testing.T) {
	got := decodeJoined(t, &DefaultMultiline,
		"2026-10-03 02:00:14 ERROR Reconciler - sync failed",
		"java.lang.IllegalStateException: secret not found",
		"\tat io.example.Reconciler.sync(Reconciler.java:42)",
		"\t... 12 more",
		"Caused by: java.io.IOException: timeout",
		"\tat io.example.Client.get(Client.java:7)",
		"Traceback (most recent call last):",
		`  File "/app/main.py", line 3, in <module>`,
		"    main()",
		"KeyError: 'tls.crt'",
		"after the traceback",
	)
	want := []string{
		"stderr|2026-10-03 02:00:14 ERROR Reconciler - sync failed",
		"stderr|java.lang.IllegalStateException: secret not found\n\tat io.example.Reconciler.sync(Reconciler.java:42)\n\t... 12 more\nCaused by: java.io.IOException: timeout\n\tat io.example.Client.get(Client.java:7)",
		"stderr|Traceback (most recent call last):\n  File \"/app/main.py\", line 3, in <module>\n    main()\nKeyError: 'tls.crt'",
		"stderr|after the traceback",
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("events:\n%s\nwant:\n%s", strings.Join(got, "\n---\n"), strings.Join(want, "\n---\n"))
	}
}

func TestMultilineStreamsStaySeparate(t *testing.T) {
	got := decodeJoined(t, &DefaultMultiline,
		"java.lang.RuntimeException: boom",
		"out:GET /healthz 200",
		"\tat io.example.Main.run(Main.java:1)",
	)
	want := []string{"stdout|GET /healthz 200", "stderr|java.lang.RuntimeException: boom\n\tat io.example.Main.run(Main.java:1)"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("events = %q, want %q", got, want)
	}
}

func TestMultilineLimits(t *testing.T) {
	m := DefaultMultiline
	m.MaxLines = 3
	m.Timeout = time.Second
	got := decodeJoined(t, &m,
		"panic: one", "\tframe 2", "\tframe 3", "\tframe 4",
		"fatal error: two", "+2s \tlate frame",
	)
	want := []string{"stderr|panic: one\n\tframe 2\n\tframe 3", "stderr|\tframe 4", "stderr|fatal error: two", "stderr|\tlate frame"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("events = %q\nwant %q", got, want)
	}
}

func TestMultilineFlushIdle(t *testing.T) {
	d := NewDecoder(&Source{}, t0)
	d.SetMultiline(&DefaultMultiline)
	var got []string
	emit := func(l *Line) { got = append(got, string(l.Text)) }
	d.Decode([]byte(t0.Format(time.RFC3339Nano)+" stderr F E1003 sync failed: error"), emit)
	d.FlushIdle(t0.Add(100*time.Millisecond), emit)
	if len(got) != 0 {
		t.Fatalf("emitted before the timeout: %q", got)
	}
	d.FlushIdle(t0.Add(DefaultMultilineTimeout), emit)
	if len(got) != 1 {
		t.Fatalf("held event not emitted after the timeout")
	}
}

func TestMultilineFlushMaybeJava(t *testing.T) {
	d := NewDecoder(&Source{}, t0)
	d.SetMultiline(&DefaultMultiline)
	var got []string
	emit := func(l *Line) { got = append(got, string(l.Text)) }
	at := t0.Format(time.RFC3339Nano)
	d.Decode([]byte(at+" stderr F E1003 sync failed: error"), emit)
	d.Decode([]byte(at+" stdout F panic: boom"), emit)
	d.Decode([]byte(at+" stdout F goroutine 1 [running]:"), emit)
	d.FlushMaybeJava(emit)
	if want := []string{"E1003 sync failed: error"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("emitted %q, want %q", got, want)
	}
	if !d.Pending() {
		t.Fatal("the Go panic was emitted too; it must wait for its goroutine dump")
	}
}

func TestMultilineCustomAndOff(t *testing.T) {
	rs, err := ParseRules("r.toml", []byte(`
[multiline]
timeout = "2s"
[[multiline.container]]
containers = ["legacy-*"]
start = '^\d{4}-\d\d-\d\d '
continue = '^\s'
[[multiline.container]]
namespaces = ["noisy"]
off = true
`))
	if err != nil {
		t.Fatal(err)
	}
	custom := rs.Multiline(&Source{Namespace: "x", Container: "legacy-app"})
	if custom == nil || custom.Start == nil || custom.Timeout != 2*time.Second {
		t.Fatalf("custom = %+v", custom)
	}
	got := decodeJoined(t, custom, "2026-10-03 first", "  more", "unrelated", "2026-10-04 second")
	if want := []string{"stderr|2026-10-03 first\n  more", "stderr|unrelated", "stderr|2026-10-04 second"}; !reflect.DeepEqual(got, want) {
		t.Errorf("custom events = %q", got)
	}
	if m := rs.Multiline(&Source{Namespace: "noisy", Container: "c"}); m != nil {
		t.Errorf("off override returned %+v", m)
	}
	if m := rs.Multiline(&Source{Path: "plain.log"}); m == nil || m.Start != nil {
		t.Errorf("plain file got %+v, want the defaults", m)
	}
}

func TestMultilineConfigErrors(t *testing.T) {
	cases := map[string]string{
		"[multiline]\nmax_lines = 0":                                   "r.toml: multiline.max_lines: 0 is out of range",
		"[multiline]\ntimeout = \"1h\"":                                `r.toml: multiline.timeout: invalid "1h"`,
		"[multiline]\nmaxlines = 3":                                    `r.toml: unknown key "multiline.maxlines"`,
		"[[multiline.container]]\ncontainers = [\"a\"]\nstart = \"(\"": "r.toml: multiline.container[0].start: invalid pattern",
		"[[multiline.container]]\noff = true":                          "r.toml: multiline.container[0]: selects nothing",
	}
	for body, want := range cases {
		_, err := ParseRules("r.toml", []byte(body+"\n"))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q gave %v, want %q", body, err, want)
		}
	}
}

func TestDecodeWithMultilineDoesNotAllocate(t *testing.T) {
	d := NewDecoder(&Source{}, time.Time{})
	d.SetMultiline(&DefaultMultiline)
	raw := []byte("2026-10-03T02:00:14.123456789Z stderr F I1003 02:00:14.123456 1 reflector.go:255] watch ended")
	emit := func(*Line) {}
	if n := testing.AllocsPerRun(100, func() { d.Decode(raw, emit) }); n != 0 {
		t.Errorf("Decode allocates %.1f times per line, want 0", n)
	}
}

func TestMultilineSkipsOneEventFormats(t *testing.T) {
	got := decodeJoined(t, &DefaultMultiline,
		`{"level":"error","msg":"sync failed","error":"boom"}`,
		"\tat io.example.Main.run(Main.java:1)",
		"I1003 02:00:14.123456 1 x.go:1] error count reset",
		"\tindented",
	)
	if len(got) != 4 {
		t.Fatalf("got %d events, want 4 (JSON and Info klog lines are not held):\n%s", len(got), strings.Join(got, "\n---\n"))
	}
}
