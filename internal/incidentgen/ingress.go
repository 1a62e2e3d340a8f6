package main

import (
	"fmt"
	"strings"
	"time"
)

// ingressUpstream is one backend service behind ingress-nginx, with the
// requests its clients send.
type ingressUpstream struct {
	name    string // ingress-nginx's upstream name, <namespace>-<service>-<port>
	address string
	share   float64 // of all requests
	paths   []string
	agents  []string
	api     bool // served under api.example.com
}

var ingressUpstreams = []ingressUpstream{
	{
		name: "prod-api-8080", address: "10.244.1.23:8080", share: 0.6, api: true,
		paths: []string{
			"GET /v1/orders?page=1", "GET /v1/orders?page=2", "GET /v1/orders/8817", "POST /v1/orders",
			"GET /v1/products?category=tools", "GET /v1/health", "PUT /v1/cart/items/42", "GET /v1/account",
		},
		agents: []string{"okhttp/4.12.0", "Go-http-client/2.0", "shop-ios/3.18.1 CFNetwork/1498.700.2 Darwin/23.6.0", "python-requests/2.32.3"},
	},
	{
		name: "prod-web-80", address: "10.244.2.17:80", share: 0.3,
		paths: []string{
			"GET /", "GET /products/tools", "GET /static/app.7f3c2a.js", "GET /static/app.4b91e0.css",
			"GET /favicon.ico", "GET /cart",
		},
		agents: []string{
			"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/129.0.0.0 Safari/537.36",
			"Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.0 Mobile/15E148 Safari/604.1",
			"Mozilla/5.0 (X11; Linux x86_64; rv:131.0) Gecko/20100101 Firefox/131.0",
		},
	},
	{
		name: "monitoring-grafana-3000", address: "10.244.1.9:3000", share: 0.1,
		paths: []string{
			"GET /api/live/ws", "POST /api/ds/query?ds_type=prometheus", "GET /api/search?limit=30", "GET /d/node-exporter/nodes",
		},
		agents: []string{"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/129.0.0.0 Safari/537.36"},
	},
}

// ingressNginxRecords writes the ingress-nginx controller's output: access
// logs on stdout and the controller's klog lines on stderr. On every
// configuration sync from 240 hours before the certificate of
// api.example.com expires, the controller warns that it is about to expire,
// and after expiry that it has expired, until the renewed certificate arrives.
func ingressNginxRecords(g *gen) [][]record {
	_, renewed := apiRenewal()
	for _, t := range g.poisson(exampleStart, exampleEnd, 320) {
		ingressAccessLine(g, t, renewed)
	}
	for _, t := range g.poisson(exampleStart, exampleEnd, 0.5) {
		ingressReload(g, t)
	}
	notAfter := certNotAfter.Format("2006-01-02 15:04:05 -0700 MST")
	for _, t := range g.poisson(expiryWarningStart, renewed, 40) {
		text := fmt.Sprintf(`SSL certificate for server "api.example.com" is about to expire (%s)`, notAfter)
		if !t.Before(certNotAfter) {
			text = fmt.Sprintf(`SSL certificate for server "api.example.com" expired (%s)`, notAfter)
		}
		g.add(t.Add(g.runtimeDelay()), "stderr", klog('W', t, 7, "controller.go:1407")+text)
	}
	// The renewed certificate's secret changes, which reloads nginx.
	ingressReload(g, renewed.Add(1200*time.Millisecond))
	return [][]record{g.records}
}

func ingressReload(g *gen, t time.Time) {
	g.add(t.Add(g.runtimeDelay()), "stderr", klog('I', t, 7, "controller.go:190")+`"Configuration changes detected, backend reload required"`)
	t = t.Add(130*time.Millisecond + g.jitter(60*time.Millisecond))
	g.add(t.Add(g.runtimeDelay()), "stderr", klog('I', t, 7, "controller.go:210")+`"Backend successfully reloaded"`)
	g.add(t.Add(g.runtimeDelay()+200*time.Microsecond), "stderr", klog('I', t, 7, "event.go:377")+
		`Event(v1.ObjectReference{Kind:"Pod", Namespace:"ingress-nginx", Name:"ingress-nginx-controller-6b9c7f5d8-2wlxh", UID:"5d0e4a2c-3f1b-4c8e-9a7d-2b6f8e1c0d93", APIVersion:"v1", ResourceVersion:"81231", FieldPath:""}): type: 'Normal' reason: 'RELOAD' NGINX reload triggered due to a change in configuration`)
}

// ingressAccessLine adds one request in ingress-nginx's default log format.
// Between expiry and renewal most API clients reject the expired
// certificate during the TLS handshake, so their requests never reach the log.
func ingressAccessLine(g *gen, t time.Time, renewed time.Time) {
	up := pickUpstream(g)
	if up.api && !t.Before(certNotAfter) && t.Before(renewed) && g.rnd.Float64() < 0.9 {
		return
	}

	method, path, _ := strings.Cut(pick(g, up.paths), " ")
	status, size := 200, 200+g.rnd.IntN(4800)
	switch x := g.rnd.Float64(); {
	case x < 0.03:
		status, size = 404, 146
	case x < 0.035:
		status, size = 502, 150
	case method == "POST" && x < 0.2:
		status, size = 201, 64+g.rnd.IntN(400)
	}
	proto := "2.0"
	if g.rnd.IntN(5) == 0 {
		proto = "1.1"
	}

	duration := 0.001 + g.rnd.ExpFloat64()*0.03
	// nginx writes the access log line, with its time, when the request ends.
	end := t.Add(time.Duration(duration * float64(time.Second)))
	client := fmt.Sprintf("%s.%d", pick(g, []string{"192.0.2", "198.51.100", "203.0.113"}), 1+g.rnd.IntN(254))
	line := fmt.Sprintf(`%s - - [%s] "%s %s HTTP/%s" %d %d "-" "%s" %d %.3f [%s] [] %s %d %.3f %d %s`,
		client, end.UTC().Format("02/Jan/2006:15:04:05 -0700"), method, path, proto, status, size,
		pick(g, up.agents), 40+g.rnd.IntN(900), duration, up.name, up.address, size, duration, status,
		g.hexID(32))
	g.add(end.Add(g.runtimeDelay()), "stdout", line)
}

// pickUpstream returns a random upstream, each with its share of requests.
func pickUpstream(g *gen) ingressUpstream {
	x := g.rnd.Float64()
	for _, up := range ingressUpstreams {
		if x < up.share {
			return up
		}
		x -= up.share
	}
	return ingressUpstreams[len(ingressUpstreams)-1]
}
