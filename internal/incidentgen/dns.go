package main

import (
	"fmt"
	"strings"
	"time"
)

// coreDNSRecords writes CoreDNS's output. Its Corefile logs denied responses
// (log . { class denial }), so the log holds the NXDOMAIN responses that
// the cluster's search path produces, and now and then a slow health check.
func coreDNSRecords(g *gen) [][]record {
	type lookup struct{ client, name string }
	lookups := []lookup{
		{"10.244.1.23", "api.example.com"},
		{"10.244.1.23", "orders-db.prod.svc"},
		{"10.244.2.17", "api.example.com"},
		{"10.244.1.9", "prometheus-k8s.monitoring.svc"},
		{"10.244.0.31", "acme-v02.api.letsencrypt.org"},
		{"10.244.0.31", "route53.amazonaws.com"},
		{"10.244.3.4", "alertmanager-main.monitoring.svc"},
	}
	suffixes := []string{".prod.svc.cluster.local.", ".svc.cluster.local.", ".cluster.local.", ".eu-west-1.compute.internal."}
	for _, t := range g.poisson(exampleStart, exampleEnd, 300) {
		l := pick(g, lookups)
		qtype := pick(g, []string{"A", "AAAA"})
		name := l.name + pick(g, suffixes)
		if strings.HasSuffix(l.name, ".svc") {
			name = l.name + ".cluster.local.cluster.local."
		}
		g.add(t.Add(g.runtimeDelay()), "stdout", fmt.Sprintf(
			`[INFO] %s:%d - %d "%s IN %s udp %d false 512" NXDOMAIN qr,aa,rd %d %.9fs`,
			l.client, 32768+g.rnd.IntN(28000), g.rnd.IntN(65536), qtype, name, 17+len(name), 90+len(name)+g.rnd.IntN(40),
			0.00005+g.rnd.Float64()*0.0003))
	}
	for _, t := range g.poisson(exampleStart, exampleEnd, 0.3) {
		g.add(t.Add(g.runtimeDelay()), "stdout", fmt.Sprintf(
			`[WARNING] plugin/health: Local health request to "http://:8080/health" took more than 1s: %.9fs`, 1+g.rnd.Float64()*0.2))
	}
	return [][]record{g.records}
}

// externalDNSRecords writes external-dns's output: a sync every minute that
// finds nothing to change, and now and then a new record for a service.
func externalDNSRecords(g *gen) [][]record {
	const zone = "profile=default zoneID=/hostedzone/Z0123456789ABCDEFGHIJ zoneName=example.com."
	changes := g.poisson(exampleStart, exampleEnd, 0.4)
	t := exampleStart.Add(41 * time.Second)
	for t.Before(exampleEnd) {
		stamp := t.UTC().Format(time.RFC3339)
		if len(changes) > 0 && !t.Before(changes[0]) {
			changes = changes[1:]
			host := pick(g, []string{"shop", "status", "docs", "grafana", "hooks", "preview-" + g.hexID(6)}) + ".example.com"
			action := pick(g, []string{"CREATE", "UPSERT"})
			g.add(t.Add(g.runtimeDelay()), "stderr", fmt.Sprintf(`time=%q level=info msg="Desired change: %s %s A" %s`, stamp, action, host, zone))
			g.add(t.Add(g.runtimeDelay()), "stderr", fmt.Sprintf(`time=%q level=info msg="Desired change: %s external-dns-%s TXT" %s`, stamp, action, host, zone))
			g.add(t.Add(g.runtimeDelay()), "stderr", fmt.Sprintf(`time=%q level=info msg="Desired change: %s external-dns-a-%s TXT" %s`, stamp, action, host, zone))
			done := t.Add(600*time.Millisecond + g.jitter(900*time.Millisecond))
			g.add(done.Add(g.runtimeDelay()), "stderr", fmt.Sprintf(`time=%q level=info msg="3 record(s) were successfully updated" %s`, done.UTC().Format(time.RFC3339), zone))
		} else {
			g.add(t.Add(g.runtimeDelay()), "stderr", fmt.Sprintf(`time=%q level=info msg="All records are already up to date"`, stamp))
		}
		// The next sync starts one interval after this one ended.
		t = t.Add(time.Minute + 200*time.Millisecond + g.jitter(700*time.Millisecond))
	}
	return [][]record{g.records}
}
