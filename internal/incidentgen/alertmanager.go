package main

import (
	"fmt"
	"time"
)

// alertmanagerRecords writes Alertmanager's output: its maintenance every
// 15 minutes, and the failed deliveries to the webhook receiver at
// api.example.com between the certificate's expiry and its renewal. A
// blackbox probe of api.example.com fails once the certificate expires, so
// there is an alert to deliver, and every delivery fails on the expired
// certificate of the same host.
func alertmanagerRecords(g *gen) [][]record {
	_, renewed := apiRenewal()
	for t := exampleStart.Add(7*time.Minute + 12*time.Second); t.Before(exampleEnd); t = t.Add(15 * time.Minute) {
		for i, component := range []string{"nflog", "silences"} {
			start := t.Add(time.Duration(i)*time.Millisecond + g.jitter(time.Millisecond))
			g.add(start.Add(g.runtimeDelay()), "stderr", alertmanagerLine(start, "maintenance.go:243", "info", component, `msg="Running maintenance"`))
			done := start.Add(20*time.Microsecond + g.jitter(60*time.Microsecond))
			g.add(done.Add(g.runtimeDelay()), "stderr", alertmanagerLine(done, "maintenance.go:255", "info", component, fmt.Sprintf(
				`msg="Maintenance done" duration=%s size=%d`, done.Sub(start).Round(time.Nanosecond), 3900+g.rnd.IntN(900))))
		}
	}

	// The group is flushed every group_interval (5 minutes), and each flush
	// retries the webhook with backoff until the flush times out.
	const group = `receiver=api-webhook integration=webhook[0] aggrGroup="{}:{alertname=\"ProbeFailed\"}"`
	firing := certNotAfter.Add(3*time.Minute + 59*time.Second)
	for flush := firing; flush.Before(renewed); flush = flush.Add(5 * time.Minute) {
		t := flush
		attempt := 1
		for wait := 500 * time.Millisecond; t.Before(flush.Add(4*time.Minute)) && t.Before(renewed); attempt++ {
			g.add(t.Add(g.runtimeDelay()), "stderr", alertmanagerLine(t, "notify.go:848", "warn", "dispatcher", fmt.Sprintf(
				`%s msg="Notify attempt failed, will retry later" attempts=%d err="Post \"<redacted>\": %s"`, group, attempt, expiredTLSError(t))))
			t = t.Add(wait + g.jitter(wait/2))
			wait = min(2*wait, time.Minute)
		}
		if t.Before(renewed) {
			g.add(t.Add(g.runtimeDelay()), "stderr", alertmanagerLine(t, "dispatch.go:353", "error", "dispatcher", fmt.Sprintf(
				`msg="Notify for alerts failed" num_alerts=1 err="api-webhook/webhook[0]: notify retry canceled after %d attempts: Post \"<redacted>\": %s"`,
				attempt, expiredTLSError(t))))
		} else {
			g.add(t.Add(g.runtimeDelay()), "stderr", alertmanagerLine(t, "notify.go:860", "info", "dispatcher", fmt.Sprintf(
				`%s msg="Notify success" attempts=%d duration=%s`, group, attempt, t.Sub(flush).Round(time.Millisecond))))
		}
	}
	return [][]record{g.records}
}

func alertmanagerLine(t time.Time, caller, level, component, rest string) string {
	return fmt.Sprintf("ts=%s caller=%s level=%s component=%s %s",
		t.UTC().Format("2006-01-02T15:04:05.000Z07:00"), caller, level, component, rest)
}

// expiredTLSError is the error Go's TLS client returns at t for the expired
// certificate, with its quotes escaped for a logfmt value.
func expiredTLSError(t time.Time) string {
	return fmt.Sprintf("tls: failed to verify certificate: x509: certificate has expired or is not yet valid: current time %s is after %s",
		t.UTC().Format(time.RFC3339), certNotAfter.Format(time.RFC3339))
}
