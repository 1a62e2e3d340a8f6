package scanner

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// decodeAll feeds raw lines to a fresh decoder and returns what it emitted,
// then what Flush emitted.
func decodeAll(t *testing.T, src *Source, raws ...string) ([]Line, *Decoder) {
	t.Helper()
	d := NewDecoder(src, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	var out []Line
	collect := func(l *Line) {
		c := *l
		c.Text = []byte(string(l.Text))
		out = append(out, c)
	}
	for _, r := range raws {
		d.Decode([]byte(r), collect)
	}
	d.Flush(collect)
	return out, d
}

func TestDecodeCRI(t *testing.T) {
	lines, d := decodeAll(t, &Source{},
		"2026-10-03T02:00:14.123456789Z stderr F E1003 02:00:14.123456 1 sync.go:190] failed",
		"2026-10-03T02:00:15Z stdout F short timestamp",
		"2026-10-03T03:00:15.5+01:00 stdout F crio offset",
		"2026-10-03T02:00:16.1Z stdout F",
	)
	if len(lines) != 4 {
		t.Fatalf("got %d lines, want 4", len(lines))
	}
	if got := string(lines[0].Text); got != "E1003 02:00:14.123456 1 sync.go:190] failed" {
		t.Errorf("text = %q", got)
	}
	if lines[0].Stream != "stderr" || lines[1].Stream != "stdout" {
		t.Errorf("streams = %q, %q", lines[0].Stream, lines[1].Stream)
	}
	want := time.Date(2026, 10, 3, 2, 0, 14, 123456789, time.UTC)
	if !lines[0].Time.Equal(want) {
		t.Errorf("time = %v, want %v", lines[0].Time, want)
	}
	if want := time.Date(2026, 10, 3, 2, 0, 15, 500000000, time.UTC); !lines[2].Time.Equal(want) {
		t.Errorf("offset time = %v, want %v", lines[2].Time, want)
	}
	if len(lines[3].Text) != 0 {
		t.Errorf("empty record text = %q", lines[3].Text)
	}
	if d.Stats.Malformed != 0 {
		t.Errorf("malformed = %d", d.Stats.Malformed)
	}
}

func TestDecodeCRIPartialJoinsPerStream(t *testing.T) {
	lines, _ := decodeAll(t, &Source{},
		"2026-10-03T02:00:00Z stdout P first half ",
		"2026-10-03T02:00:00.5Z stderr F an error in between",
		"2026-10-03T02:00:01Z stdout P and middle ",
		"2026-10-03T02:00:02Z stdout F and end",
		"2026-10-03T02:00:03Z stderr P last output without newline",
	)
	got := make([]string, len(lines))
	for i, l := range lines {
		got[i] = l.Stream + ":" + string(l.Text)
	}
	want := []string{
		"stderr:an error in between",
		"stdout:first half and middle and end",
		"stderr:last output without newline",
	}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("lines = %q\nwant %q", got, want)
	}
	if !lines[1].Time.Equal(time.Date(2026, 10, 3, 2, 0, 0, 0, time.UTC)) {
		t.Errorf("joined line time = %v, want the first chunk's", lines[1].Time)
	}
}

func TestDecodeCRIMalformedReadAsPlain(t *testing.T) {
	lines, d := decodeAll(t, &Source{},
		"2026-10-03T02:00:00Z stdout F ok",
		"2026-10-03T02:00:01Z stdout",
		"garbage without fields",
	)
	if len(lines) != 3 {
		t.Fatalf("got %d lines, want 3", len(lines))
	}
	if d.Stats.Malformed != 2 {
		t.Errorf("malformed = %d, want 2", d.Stats.Malformed)
	}
	if string(lines[2].Text) != "garbage without fields" {
		t.Errorf("text = %q", lines[2].Text)
	}
	if !lines[2].Time.Equal(time.Date(2026, 10, 3, 2, 0, 1, 0, time.UTC)) {
		t.Errorf("time = %v, want the time of the line before", lines[2].Time)
	}
}

func TestDecodeDockerJoinsPartials(t *testing.T) {
	lines, _ := decodeAll(t, &Source{},
		`{"log":"part one ","stream":"stderr","time":"2026-10-03T02:00:00.000000001Z"}`,
		`{"log":"part two\n","stream":"stderr","time":"2026-10-03T02:00:00.2Z"}`,
		`{"log":"whole line\r\n","stream":"stdout","time":"2026-10-03T02:00:01Z"}`,
		`{"log":"broken`,
	)
	if len(lines) != 3 {
		t.Fatalf("got %d lines, want 3", len(lines))
	}
	if got := string(lines[0].Text); got != "part one part two" || lines[0].Stream != "stderr" {
		t.Errorf("joined = %q on %s", got, lines[0].Stream)
	}
	if got := string(lines[1].Text); got != "whole line" {
		t.Errorf("text = %q", got)
	}
	if got := string(lines[2].Text); got != `{"log":"broken` {
		t.Errorf("malformed text = %q", got)
	}
}

func TestDecodePlainTimes(t *testing.T) {
	ref := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	cases := []struct {
		name, line string
		want       time.Time
	}{
		{"klog", "E0218 17:54:34.532602       1 sync.go:264] failed", time.Date(2026, 2, 18, 17, 54, 34, 532602000, time.UTC)},
		{"klog previous year", "E1218 17:54:34.532602       1 sync.go:264] failed", time.Date(2025, 12, 18, 17, 54, 34, 532602000, time.UTC)},
		{"go log", "2022/08/18 20:22:19 http: TLS handshake error", time.Date(2022, 8, 18, 20, 22, 19, 0, time.UTC)},
		{"syslog", "Jan 06 03:49:15 host kubelet[13180]: E0106 03:49:15.676904 x", time.Date(2026, 1, 6, 3, 49, 15, 0, time.UTC)},
		{"rfc3339 prefix", "2023-01-19T02:06:18.858514+00:00 localhost kubelet[16098]: x", time.Date(2023, 1, 19, 2, 6, 18, 858514000, time.UTC)},
		{"logfmt", `time="2025-11-05T09:56:32Z" level=error msg="x"`, time.Date(2025, 11, 5, 9, 56, 32, 0, time.UTC)},
		{"json", `{"level":"error","ts":1760000000.5,"msg":"x"}`, time.Unix(1760000000, 500000000).UTC()},
		{"json rfc3339", `{"time":"2026-02-01T10:00:00Z","msg":"x"}`, time.Date(2026, 2, 1, 10, 0, 0, 0, time.UTC)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := parseMessageTime([]byte(tc.line), ref)
			if !ok {
				t.Fatal("no time found")
			}
			if !got.Equal(tc.want) {
				t.Errorf("time = %v, want %v", got, tc.want)
			}
		})
	}
	if _, ok := parseMessageTime([]byte("[ERROR] plugin/errors: 2 x. SRV: i/o timeout"), ref); ok {
		t.Error("a line without a time gave one")
	}
}

func TestDecodePlainCarriesLastTime(t *testing.T) {
	lines, _ := decodeAll(t, &Source{},
		"no time yet",
		"2022/08/18 20:22:19 http: TLS handshake error",
		"Usage:",
	)
	if !lines[0].Time.Equal(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("first line time = %v, want the fallback", lines[0].Time)
	}
	if !lines[2].Time.Equal(lines[1].Time) {
		t.Errorf("line without time = %v, want the previous line's %v", lines[2].Time, lines[1].Time)
	}
}

func TestDecodeTruncatesLongLines(t *testing.T) {
	d := NewDecoder(&Source{}, time.Time{})
	d.SetMaxLineBytes(10)
	var got []string
	emit := func(l *Line) { got = append(got, string(l.Text)) }
	d.Decode([]byte("2026-10-03T02:00:00Z stdout P 0123456"), emit)
	d.Decode([]byte("2026-10-03T02:00:00Z stdout P 789abcdef"), emit)
	d.Decode([]byte("2026-10-03T02:00:00Z stdout F ghij"), emit)
	d.Decode([]byte("2026-10-03T02:00:01Z stdout F next line is fine"), emit)
	if len(got) != 2 || got[0] != "0123456789" {
		t.Fatalf("lines = %q, want a plain cut: 10 bytes cannot hold the marker", got)
	}
	if got[1] != "next line " {
		t.Errorf("second line = %q, want it cut at 10 bytes too", got[1])
	}
	if d.Stats.Truncated != 2 {
		t.Errorf("truncated = %d, want 2", d.Stats.Truncated)
	}
}

func TestParseRFC3339RejectsBadInput(t *testing.T) {
	for _, s := range []string{"", "2026-13-01T00:00:00Z", "2026-01-01T25:00:00Z", "2026-01-01T00:00:00", "2026-01-01T00:00:00.Z", "2026-01-01T00:00:00+1:00", "not a time at all!!"} {
		if _, ok := parseRFC3339([]byte(s)); ok {
			t.Errorf("parseRFC3339(%q) accepted", s)
		}
	}
}

func TestDecodeDoesNotAllocate(t *testing.T) {
	d := NewDecoder(&Source{}, time.Time{})
	raw := []byte("2026-10-03T02:00:14.123456789Z stderr F I1003 02:00:14.123456 1 reflector.go:255] watch ended")
	emit := func(*Line) {}
	if n := testing.AllocsPerRun(100, func() { d.Decode(raw, emit) }); n != 0 {
		t.Errorf("Decode allocates %.1f times per CRI line, want 0", n)
	}
}

func TestDecoderPending(t *testing.T) {
	d := NewDecoder(&Source{}, time.Time{})
	d.SetMultiline(&DefaultMultiline)
	emit := func(*Line) {}
	d.Decode([]byte("2026-10-03T02:00:00Z stdout P first half"), emit)
	if !d.Pending() {
		t.Error("a P chunk is not reported pending")
	}
	d.Decode([]byte("2026-10-03T02:00:00Z stdout F and the rest"), emit)
	if d.Pending() {
		t.Error("pending after the F chunk")
	}
	d.Decode([]byte("2026-10-03T02:00:01Z stderr F panic: boom"), emit)
	if !d.Pending() {
		t.Error("a held multi-line event is not reported pending")
	}
	d.FlushIdle(time.Date(2026, 10, 3, 2, 0, 5, 0, time.UTC), emit)
	if d.Pending() {
		t.Error("pending after FlushIdle past the timeout")
	}
}

func TestDecoderSetNowStampsUntimedLines(t *testing.T) {
	now := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	d := NewDecoder(&Source{}, time.Time{})
	d.SetNow(func() time.Time { return now })
	var got []time.Time
	emit := func(l *Line) { got = append(got, l.Time) }
	d.Decode([]byte("a line without a time"), emit)
	d.Decode([]byte("2022/08/18 20:22:19 a line with one"), emit)
	if !got[0].Equal(now) || got[1].Year() != 2022 {
		t.Errorf("times = %v", got)
	}
}

func TestDecodeMarksCutLines(t *testing.T) {
	d := NewDecoder(&Source{}, time.Time{})
	d.SetMaxLineBytes(40)
	var got []string
	emit := func(l *Line) { got = append(got, string(l.Text)) }
	long := strings.Repeat("a", 50)
	d.Decode([]byte("2026-10-03T02:00:00Z stdout F "+long), emit)
	d.Decode([]byte("2026-10-03T02:00:00Z stdout P "+long[:30]), emit)
	d.Decode([]byte("2026-10-03T02:00:00Z stdout F "+long[:30]), emit)
	want := strings.Repeat("a", 40-len(TruncatedMarker)) + TruncatedMarker
	if len(got) != 2 || got[0] != want || got[1] != want {
		t.Fatalf("lines = %q, want both %q", got, want)
	}
}

// TestParseRFC3339AgreesWithTimeDate checks the UTC shortcut against
// time.Date on dates across leap years, month ends, days past a month's end
// and leap seconds, which both normalise into the next month or minute.
func TestParseRFC3339AgreesWithTimeDate(t *testing.T) {
	rnd := rand.New(rand.NewPCG(3, 4))
	for range 20000 {
		year, month, day := 1970+rnd.IntN(8030), 1+rnd.IntN(12), 1+rnd.IntN(31)
		hour, minute, sec, nsec := rnd.IntN(24), rnd.IntN(60), rnd.IntN(61), rnd.IntN(1e9)
		text := fmt.Sprintf("%04d-%02d-%02dT%02d:%02d:%02d.%09dZ", year, month, day, hour, minute, sec, nsec)
		got, ok := parseRFC3339([]byte(text))
		if !ok {
			t.Fatalf("parseRFC3339(%q) rejected", text)
		}
		if want := time.Date(year, time.Month(month), day, hour, minute, sec, nsec, time.UTC); !got.Equal(want) || got.Location() != time.UTC {
			t.Fatalf("parseRFC3339(%q) = %v, want %v", text, got, want)
		}
	}
}

// TestTimeCacheAgreesWithParse parses runs of timestamps that share their
// seconds, as a busy log's do, with and without the cache.
func TestTimeCacheAgreesWithParse(t *testing.T) {
	rnd := rand.New(rand.NewPCG(5, 6))
	var c timeCache
	base := "2026-10-01T00:00:0"
	for i := range 5000 {
		text := fmt.Sprintf("%s%d", base, rnd.IntN(3))
		switch rnd.IntN(6) {
		case 0:
			text += "Z"
		case 1:
			text += "+02:00"
		case 2:
			text += ".Z" // no digits: invalid
		case 3:
			text += fmt.Sprintf(".%dz", rnd.IntN(1000))
		default:
			text += fmt.Sprintf(".%0*dZ", 1+rnd.IntN(12), rnd.IntN(1e9))
		}
		want, wantOK := parseRFC3339([]byte(text))
		got, ok := c.parse([]byte(text))
		if ok != wantOK || !got.Equal(want) || got.Location() != want.Location() {
			t.Fatalf("line %d: cached parse of %q = %v, %v; want %v, %v", i, text, got, ok, want, wantOK)
		}
	}
}
