// Command incidentgen writes examples/incident: a node's container log folder
// in the kubelet layout that reconstructs a month-long certificate renewal
// failure among ordinary system-component output. The output depends only
// on the fixed seed, so running it again gives the same bytes.
//
//	go run ./internal/incidentgen -out examples/incident
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stderr))
}

func run(args []string, stderr io.Writer) int {
	flags := flag.NewFlagSet("incidentgen", flag.ContinueOnError)
	flags.SetOutput(stderr)
	out := flags.String("out", "examples/incident", "folder to write the pod log folders into; other files in it are kept")
	if err := flags.Parse(args); err != nil {
		return 2
	}
	if flags.NArg() > 0 {
		fmt.Fprintf(stderr, "incidentgen: unexpected arguments %q\n", flags.Args())
		return 2
	}
	n, err := generate(*out)
	if err != nil {
		fmt.Fprintf(stderr, "incidentgen: %v\n", err)
		return 1
	}
	fmt.Fprintf(stderr, "incidentgen: wrote %d files to %s\n", n, *out)
	return 0
}
