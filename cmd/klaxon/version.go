package main

import "runtime/debug"

// buildVersion is set at build time with -ldflags "-X main.buildVersion=v1.2.3".
var buildVersion string

// version returns the version set at build time, else the module version
// the binary was built from, else "devel".
func version() string {
	if buildVersion != "" {
		return buildVersion
	}
	if info, ok := debug.ReadBuildInfo(); ok && info.Main.Version != "" && info.Main.Version != "(devel)" {
		return info.Main.Version
	}
	return "devel"
}
