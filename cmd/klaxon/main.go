// Command klaxon watches the logs of a Kubernetes node's system components
// and raises an alert when they show a failure. See README.md.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"syscall"
)

// Exit statuses shared by the subcommands.
const (
	exitOK    = 0
	exitError = 1 // the command ran but part of it failed, such as an unreadable input
	exitUsage = 2 // bad arguments or invalid rules or config
)

type command struct {
	run   func(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int
	usage string
}

var commands = map[string]command{
	"replay": {runReplay, "run rules over saved log files, folders or standard input"},
	"check":  {runCheck, "validate rules files and print a summary of each rule"},
	"test":   {runTest, "run rule tests: input lines and the alerts they must raise"},
	"agent":  {runAgent, "follow the container logs of system namespaces on this node and alert"},
	"certs":  {runCerts, "print the certificates of files and TLS endpoints, soonest expiry first"},
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		printUsage(stderr)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	if args[0] == "version" || args[0] == "--version" {
		fmt.Fprintln(stdout, "klaxon", version())
		return exitOK
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "klaxon: unknown command %q\n\n", args[0])
		printUsage(stderr)
		return exitUsage
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return cmd.run(ctx, args[1:], stdin, stdout, stderr)
}

func printUsage(w io.Writer) {
	fmt.Fprintln(w, "Usage: klaxon COMMAND [OPTIONS]\n\nCommands:")
	names := make([]string, 0, len(commands))
	for name := range commands {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		fmt.Fprintf(w, "  %-8s %s\n", name, commands[name].usage)
	}
	fmt.Fprintln(w, "  version  print the version\n\nRun 'klaxon COMMAND --help' for the options of a command.")
}
