package depcheck

import (
	_ "github.com/BurntSushi/toml"
	_ "github.com/grafana/loki-client-go/loki"
	_ "github.com/nxadm/tail"
	_ "github.com/prometheus/client_golang/prometheus"
	_ "github.com/slack-go/slack"
	_ "github.com/slack-go/slack/slacktest"
)
