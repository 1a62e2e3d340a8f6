package main

import (
	"fmt"
	"time"
)

// certManagerStart is when the cert-manager controller process started,
// for the monotonic clock readings in its messages.
var certManagerStart = time.Date(2026, 9, 8, 14, 41, 3, 0, time.UTC)

const (
	apiCertificate = "api-example-com-tls"
	apiChallenge   = "api-example-com-tls-4-2917484573-1785624339"
	// route53Conflict is the error cert-manager's Route 53 solver returns
	// while a CNAME holds _acme-challenge.api.example.com.
	route53Conflict = "failed to change Route 53 record set: operation error Route 53: ChangeResourceRecordSets, " +
		"https response error StatusCode: 400, RequestID: <REDACTED>, InvalidChangeBatch: [RRSet of type TXT with DNS name " +
		"_acme-challenge.api.example.com. is not permitted because a conflicting RRSet of type CNAME with the same DNS name " +
		"already exists in zone example.com.]"
)

// certManagerRecords writes the cert-manager controller's output: quiet
// routine work, a successful renewal of another certificate, and the
// renewal of api.example.com whose DNS-01 challenge fails from the first
// attempt until the conflicting record is deleted.
func certManagerRecords(g *gen) [][]record {
	certManagerRoutine(g)
	certManagerRenewal(g, "monitoring", "grafana-example-com-tls", 3, time.Date(2026, 10, 12, 2, 14, 27, 0, time.UTC))
	renewal, _ := apiRenewal()
	return [][]record{append(g.records, renewal...)}
}

// certManagerLine adds a line with a klog header of the given level and
// source file.
func certManagerLine(g *gen, level byte, t time.Time, source, msg string) {
	g.add(t.Add(g.runtimeDelay()), "stderr", klog(level, t, 1, source)+msg)
}

func certManagerRoutine(g *gen) {
	// Concurrent updates of the same Certificate are retried at once;
	// cert-manager logs them at Info level.
	certificates := [][2]string{
		{"prod", "web-example-com-tls"}, {"monitoring", "grafana-example-com-tls"}, {"prod", apiCertificate},
	}
	for _, t := range g.poisson(exampleStart, exampleEnd, 0.6) {
		cert := pick(g, certificates)
		controller := pick(g, []string{"certificates-readiness", "certificates-issuing", "certificates-key-manager"})
		certManagerLine(g, 'I', t, "controller.go:162", fmt.Sprintf(
			`"re-queuing item due to optimistic locking on resource" logger="cert-manager.%s" key="%s/%s" error="Operation cannot be fulfilled on certificates.cert-manager.io \"%s\": the object has been modified; please apply your changes to the latest version and try again"`,
			controller, cert[0], cert[1], cert[1]))
	}
	// Twice in the month the API server responds late to the
	// leader-election renewal, and the slow path succeeds.
	for _, t := range []time.Time{
		time.Date(2026, 10, 9, 3, 12, 44, 118204000, time.UTC),
		time.Date(2026, 10, 24, 16, 40, 2, 904117000, time.UTC),
	} {
		certManagerLine(g, 'E', t, "leaderelection.go:429", `Failed to update lock optimitically: Put "https://10.96.0.1:443/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/cert-manager-controller?timeout=5s": context deadline exceeded, falling back to slow path`)
		certManagerLine(g, 'E', t.Add(5*time.Second), "leaderelection.go:436", `error retrieving resource lock kube-system/cert-manager-controller: Get "https://10.96.0.1:443/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/cert-manager-controller?timeout=5s": context deadline exceeded`)
	}
}

// certManagerRenewal adds the lines of a renewal that succeeds: the
// DNS-01 record is created, validated and cleaned up within two minutes.
func certManagerRenewal(g *gen, namespace, cert string, revision int, at time.Time) {
	key := namespace + "/" + cert
	request := fmt.Sprintf("%s-%d", cert, revision)
	certManagerLine(g, 'I', at, "trigger_controller.go:215", fmt.Sprintf(
		`"Certificate must be re-issued" logger="cert-manager.certificates-trigger" key=%q reason="Renewing" message="Renewing certificate as renewal was scheduled at %s"`,
		key, at.Format("2006-01-02 15:04:05 -0700 MST")))
	t := at.Add(180 * time.Microsecond)
	certManagerLine(g, 'I', t, "conditions.go:203", fmt.Sprintf(
		`Setting lastTransitionTime for Certificate %q condition "Issuing" to %s`, cert, goTime(t, certManagerStart)))
	t = t.Add(83 * time.Millisecond)
	certManagerLine(g, 'I', t, "controller.go:162", fmt.Sprintf(
		`"re-queuing item due to optimistic locking on resource" logger="cert-manager.certificates-key-manager" key=%q error="Operation cannot be fulfilled on certificates.cert-manager.io \"%s\": the object has been modified; please apply your changes to the latest version and try again"`,
		key, cert))
	t = t.Add(212 * time.Millisecond)
	certManagerLine(g, 'I', t, "conditions.go:263", fmt.Sprintf(
		`Setting lastTransitionTime for CertificateRequest %q condition "Approved" to %s`, request, goTime(t, certManagerStart)))
	t = t.Add(94 * time.Second)
	certManagerLine(g, 'I', t, "conditions.go:263", fmt.Sprintf(
		`Setting lastTransitionTime for CertificateRequest %q condition "Ready" to %s`, request, goTime(t, certManagerStart)))
	t = t.Add(28 * time.Millisecond)
	certManagerLine(g, 'I', t, "conditions.go:192", fmt.Sprintf(
		`Found status change for Certificate %q condition "Issuing": "True" -> "False"; setting lastTransitionTime to %s`, cert, goTime(t, certManagerStart)))
}

// apiRenewal returns the cert-manager lines of the renewal of
// api.example.com and when the new certificate was stored. Route 53 rejects
// the challenge's TXT record on every attempt until the conflicting record is
// deleted. cert-manager retries the Challenge with exponential backoff from
// 5 seconds up to 5 minutes. The renewal has its own random source because
// other containers' output depends on when it ends.
func apiRenewal() ([]record, time.Time) {
	g := newGen("cert-manager/api-example-com-tls renewal")
	key := "prod/" + apiCertificate
	request := apiCertificate + "-4"
	at := renewalStart
	certManagerLine(g, 'I', at, "trigger_controller.go:215", fmt.Sprintf(
		`"Certificate must be re-issued" logger="cert-manager.certificates-trigger" key=%q reason="Renewing" message="Renewing certificate as renewal was scheduled at %s"`,
		key, at.Format("2006-01-02 15:04:05 -0700 MST")))
	t := at.Add(211 * time.Microsecond)
	certManagerLine(g, 'I', t, "conditions.go:203", fmt.Sprintf(
		`Setting lastTransitionTime for Certificate %q condition "Issuing" to %s`, apiCertificate, goTime(t, certManagerStart)))
	t = t.Add(301 * time.Millisecond)
	certManagerLine(g, 'I', t, "conditions.go:263", fmt.Sprintf(
		`Setting lastTransitionTime for CertificateRequest %q condition "Approved" to %s`, request, goTime(t, certManagerStart)))

	backoff := 5 * time.Second
	t = t.Add(1200 * time.Millisecond)
	for t.Before(recordDeleted) {
		// A failed call to Route 53 takes a few hundred milliseconds.
		t = t.Add(150*time.Millisecond + g.jitter(250*time.Millisecond))
		certManagerLine(g, 'E', t, "controller.go:167", fmt.Sprintf(
			`"re-queuing item due to error processing" err=%q logger="cert-manager.challenges" key="prod/%s"`,
			route53Conflict, apiChallenge))
		t = t.Add(backoff)
		backoff = min(2*backoff, 5*time.Minute)
	}

	// The certificate expires while the renewal still fails.
	certManagerLine(g, 'I', certNotAfter.Add(4*time.Millisecond), "conditions.go:192", fmt.Sprintf(
		`Found status change for Certificate %q condition "Ready": "True" -> "False"; setting lastTransitionTime to %s`,
		apiCertificate, goTime(certNotAfter.Add(4*time.Millisecond), certManagerStart)))

	// The next retry after the record is gone presents the TXT record.
	// Route 53 reports it in sync, the ACME server validates it, and the
	// new certificate is issued.
	t = t.Add(41 * time.Second)
	certManagerLine(g, 'I', t, "conditions.go:263", fmt.Sprintf(
		`Setting lastTransitionTime for CertificateRequest %q condition "Ready" to %s`, request, goTime(t, certManagerStart)))
	t = t.Add(31 * time.Millisecond)
	certManagerLine(g, 'I', t, "conditions.go:192", fmt.Sprintf(
		`Found status change for Certificate %q condition "Ready": "False" -> "True"; setting lastTransitionTime to %s`,
		apiCertificate, goTime(t, certManagerStart)))
	t = t.Add(12 * time.Millisecond)
	certManagerLine(g, 'I', t, "conditions.go:192", fmt.Sprintf(
		`Found status change for Certificate %q condition "Issuing": "True" -> "False"; setting lastTransitionTime to %s`,
		apiCertificate, goTime(t, certManagerStart)))
	t = t.Add(40 * time.Millisecond)
	certManagerLine(g, 'I', t, "controller.go:162", fmt.Sprintf(
		`"re-queuing item due to optimistic locking on resource" logger="cert-manager.certificates-issuing" key=%q error="Operation cannot be fulfilled on certificates.cert-manager.io \"%s\": the object has been modified; please apply your changes to the latest version and try again"`,
		key, apiCertificate))
	return g.records, t
}
