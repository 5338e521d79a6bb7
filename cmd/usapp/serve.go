package main

import (
	"fmt"
	"log/slog"
	"os"

	"github.com/usapp/usapp/config"
	"github.com/usapp/usapp/daemon"
)

type serveCmd struct {
	Role   string `arg:"" enum:"ca,headend,gateway" help:"Role to run: ca, headend or gateway."`
	Config string `help:"Configuration file (YAML)." required:"" type:"existingfile"`
}

func (s *serveCmd) Run(g *globals) error {
	cfg, err := loadConfig(s.Config)
	if err != nil {
		return err
	}
	if cfg.Role != "" && cfg.Role != s.Role {
		return fmt.Errorf("%s says role %q, not %q", s.Config, cfg.Role, s.Role)
	}
	cfg.Role = s.Role
	log := newLoggerFormat(cfg.Log.Level, cfg.Log.Format)
	return daemon.Run(g.ctx, cfg, log.With("role", s.Role))
}

type configCmd struct {
	Check configCheckCmd `cmd:"" help:"Validate a configuration file and report every problem with its line."`
}

type configCheckCmd struct {
	File string `arg:"" help:"Configuration file (YAML)." type:"existingfile"`
}

func (c *configCheckCmd) Run(*globals) error {
	if _, err := loadConfig(c.File); err != nil {
		return err
	}
	fmt.Printf("usapp: %s is valid\n", c.File)
	return nil
}

// loadConfig loads a file and prints its warnings (deprecated keys).
func loadConfig(path string) (*config.Config, error) {
	cfg, warns, err := config.Load(path)
	for _, w := range warns {
		fmt.Fprintf(os.Stderr, "usapp: warning: %s\n", w)
	}
	if err != nil {
		return nil, err
	}
	return cfg, nil
}

func newLoggerFormat(level, format string) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(level))
	opts := &slog.HandlerOptions{Level: l}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(os.Stderr, opts))
	}
	return slog.New(slog.NewTextHandler(os.Stderr, opts))
}
