package main

import (
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"time"
)

// seed makes the example reproducible. Each container derives its own
// generator from it, so changing one container's output leaves the others.
const seed = 20261101

// gen produces the records of one container.
type gen struct {
	rnd     *rand.Rand
	records []record
}

func newGen(name string) *gen {
	h := fnv.New64a()
	h.Write([]byte(name))
	return &gen{rnd: rand.New(rand.NewPCG(seed, h.Sum64()))}
}

func (g *gen) add(t time.Time, stream, text string) {
	g.records = append(g.records, record{time: t, stream: stream, text: text})
}

// runtimeDelay is how long after the program logged a line the runtime
// stamps it: tens to hundreds of microseconds.
func (g *gen) runtimeDelay() time.Duration {
	return time.Duration(20+g.rnd.IntN(380)) * time.Microsecond
}

// jitter returns a random duration in [0, d).
func (g *gen) jitter(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	return time.Duration(g.rnd.Int64N(int64(d)))
}

// poisson returns random event times in [start, end) at an average of
// perDay events a day, with the rate following dayCurve.
func (g *gen) poisson(start, end time.Time, perDay float64) []time.Time {
	// Thinning: draw at the peak rate, keep each draw with the curve's
	// share of the peak at that time.
	peak := perDay * dayCurvePeak
	var out []time.Time
	for t := start; ; {
		gap := g.rnd.ExpFloat64() / peak * float64(24*time.Hour)
		t = t.Add(time.Duration(gap))
		if !t.Before(end) {
			return out
		}
		if g.rnd.Float64()*dayCurvePeak < dayCurve(t) {
			out = append(out, t)
		}
	}
}

// dayCurve is the relative traffic at t: low at night, highest in the
// European and American working day (about 14:00 UTC). Its mean over a day
// is 1.
func dayCurve(t time.Time) float64 {
	hours := float64(t.Hour()) + float64(t.Minute())/60
	return 1 + 0.7*math.Sin(2*math.Pi*(hours-8)/24)
}

const dayCurvePeak = 1.7

// pick returns a random element of items.
func pick[T any](g *gen, items []T) T {
	return items[g.rnd.IntN(len(items))]
}

// hexID returns n random lower-case hex digits.
func (g *gen) hexID(n int) string {
	const digits = "0123456789abcdef"
	b := make([]byte, n)
	for i := range b {
		b[i] = digits[g.rnd.IntN(16)]
	}
	return string(b)
}

// podUID returns a random UUID in the form Kubernetes gives pods.
func (g *gen) podUID() string {
	return fmt.Sprintf("%s-%s-4%s-%c%s-%s", g.hexID(8), g.hexID(4), g.hexID(3),
		"89ab"[g.rnd.IntN(4)], g.hexID(3), g.hexID(12))
}

// klog returns the header klog writes before a message:
// "Lmmdd hh:mm:ss.uuuuuu threadid file:line] ".
func klog(level byte, t time.Time, pid int, source string) string {
	t = t.UTC()
	return fmt.Sprintf("%c%02d%02d %02d:%02d:%02d.%06d %7d %s] ", level, int(t.Month()), t.Day(),
		t.Hour(), t.Minute(), t.Second(), t.Nanosecond()/1000, pid, source)
}

// goTime formats t as Go's time.Time String method does, with the
// monotonic clock reading that klog messages often carry.
func goTime(t, processStart time.Time) string {
	return fmt.Sprintf("%s m=+%.9f", t.UTC().Format("2006-01-02 15:04:05.999999999 -0700 MST"),
		t.Sub(processStart).Seconds())
}
