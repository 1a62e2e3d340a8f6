package main

import (
	"fmt"
	"time"
)

// kubeProxyRecords writes kube-proxy's output at verbosity 2: an iptables
// sync whenever services or endpoints change.
func kubeProxyRecords(g *gen) [][]record {
	for _, t := range g.poisson(exampleStart, exampleEnd, 24) {
		g.add(t.Add(g.runtimeDelay()), "stderr", klog('I', t, 1, "proxier.go:805")+`"Syncing iptables rules"`)
		t = t.Add(20*time.Millisecond + g.jitter(30*time.Millisecond))
		g.add(t.Add(g.runtimeDelay()), "stderr", klog('I', t, 1, "proxier.go:1494")+fmt.Sprintf(
			`"Reloading service iptables data" numServices=%d numEndpoints=%d numFilterChains=6 numFilterRules=%d numNATChains=%d numNATRules=%d`,
			41+g.rnd.IntN(3), 70+g.rnd.IntN(9), 4+g.rnd.IntN(3), 17+g.rnd.IntN(3), 108+g.rnd.IntN(12)))
		elapsed := 30*time.Millisecond + g.jitter(60*time.Millisecond)
		t = t.Add(elapsed)
		g.add(t.Add(g.runtimeDelay()), "stderr", klog('I', t, 1, "proxier.go:799")+fmt.Sprintf(
			`"SyncProxyRules complete" elapsed=%q`, elapsed.Round(time.Microsecond).String()))
	}
	return [][]record{g.records}
}

// metricsServerRestart is when the kubelet restarted metrics-server after
// its liveness probe timed out. The new container writes 1.log.
var metricsServerRestart = time.Date(2026, 10, 17, 14, 22, 31, 204118000, time.UTC)

// metricsServerRecords writes metrics-server's output: load-balancer health
// checks that close the TLS connection early, an occasional scrape timeout,
// and a restart.
func metricsServerRecords(g *gen) [][]record {
	nodes := []string{"192.0.2.21 worker-2", "192.0.2.22 worker-3"}
	routine := func(from, to time.Time) {
		for _, t := range g.poisson(from, to, 6) {
			g.add(t.Add(g.runtimeDelay()), "stderr", klog('I', t, 1, "log.go:245")+fmt.Sprintf(
				"http: TLS handshake error from 10.244.0.1:%d: EOF", 32768+g.rnd.IntN(28000)))
		}
		for _, t := range g.poisson(from, to, 0.25) {
			var ip, node string
			fmt.Sscan(pick(g, nodes), &ip, &node)
			g.add(t.Add(g.runtimeDelay()), "stderr", klog('E', t, 1, "scraper.go:149")+fmt.Sprintf(
				`"Failed to scrape node" err="Get \"https://%s:10250/metrics/resource\": context deadline exceeded" node=%q`, ip, node))
		}
	}
	routine(exampleStart, metricsServerRestart.Add(-40*time.Second))
	t := metricsServerRestart.Add(-2 * time.Second)
	for _, line := range []struct{ source, text string }{
		{"configmap_cafile_content.go:223", `"Shutting down controller" name="client-ca::kube-system::extension-apiserver-authentication::client-ca-file"`},
		{"dynamic_serving_content.go:146", `"Shutting down controller" name="serving-cert::/tmp/apiserver.crt::/tmp/apiserver.key"`},
		{"secure_serving.go:258", `"Stopped listening" address="[::]:10250"`},
	} {
		t = t.Add(3*time.Millisecond + g.jitter(5*time.Millisecond))
		g.add(t.Add(g.runtimeDelay()), "stderr", klog('I', t, 1, line.source)+line.text)
	}
	first := g.records

	g.records = nil
	t = metricsServerRestart.Add(1300 * time.Millisecond)
	for _, line := range []struct{ source, text string }{
		{"serving.go:374", "Generated self-signed cert (/tmp/apiserver.crt, /tmp/apiserver.key)"},
		{"handler.go:275", "Adding GroupVersion metrics.k8s.io v1beta1 to ResourceManager"},
		{"requestheader_controller.go:169", "Starting RequestHeaderAuthRequestController"},
		{"shared_informer.go:311", "Waiting for caches to sync for RequestHeaderAuthRequestController"},
		{"configmap_cafile_content.go:202", `"Starting controller" name="client-ca::kube-system::extension-apiserver-authentication::client-ca-file"`},
		{"dynamic_serving_content.go:132", `"Starting controller" name="serving-cert::/tmp/apiserver.crt::/tmp/apiserver.key"`},
		{"secure_serving.go:213", "Serving securely on [::]:10250"},
		{"tlsconfig.go:240", `"Starting DynamicServingCertificateController"`},
		{"shared_informer.go:318", "Caches are synced for RequestHeaderAuthRequestController"},
	} {
		t = t.Add(2*time.Millisecond + g.jitter(40*time.Millisecond))
		g.add(t.Add(g.runtimeDelay()), "stderr", klog('I', t, 1, line.source)+line.text)
	}
	routine(t.Add(time.Minute), exampleEnd)
	return [][]record{first, g.records}
}
