// Command usapp runs the USaPP platform: the all-in-one demo, one role as a
// daemon, and configuration checks. It only parses flags and calls packages.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/alecthomas/kong"
)

var version = "0.1.0-dev"

type cli struct {
	Demo    demoCmd    `cmd:"" help:"Run a neighbourhood of homes through the secure metering path for a simulated day."`
	Serve   serveCmd   `cmd:"" help:"Run one role (ca, bus, headend, gateway) as a daemon."`
	Config  configCmd  `cmd:"" help:"Configuration tools."`
	Privacy privacyCmd `cmd:"" help:"Privacy measurements (C3 load hiding against NILM attackers)."`
	Analyze analyzeCmd `cmd:"" help:"Analyse a system model with the USaPP method: threats, controls, minimum set, reports."`
	CA      caCmd      `cmd:"" name:"ca" help:"Certificate authority administration."`
	Version versionCmd `cmd:"" help:"Print the version."`

	LogLevel string `help:"Log level: debug, info, warn, error." default:"warn" enum:"debug,info,warn,error"`
}

func main() {
	var c cli
	kctx := kong.Parse(&c, kong.Name("usapp"),
		kong.Description("USaPP: unified security and privacy protection for smart-meter networks."),
		kong.UsageOnError())
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := kctx.Run(&globals{ctx: ctx, logLevel: c.LogLevel})
	if err != nil {
		fmt.Fprintf(os.Stderr, "usapp: %v\n", err)
		var h interface{ Hint() string }
		if errors.As(err, &h) && h.Hint() != "" {
			fmt.Fprintf(os.Stderr, "hint: %s\n", h.Hint())
		}
		os.Exit(1)
	}
}

type globals struct {
	ctx      context.Context
	logLevel string
}

type versionCmd struct{}

func (versionCmd) Run(*globals) error {
	fmt.Println("usapp", version)
	return nil
}
