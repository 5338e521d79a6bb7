package bus

import (
	"fmt"
	"log/slog"
	"strings"

	"github.com/nats-io/nats-server/v2/server"
)

// natsLog routes nats-server's log to slog and counts the refusals that the
// server reports only through its log: publish and subscribe permission
// violations and failed TLS handshakes. The markers are the format strings of
// nats-server v2 (client.go: pubPermissionViolation, subPermissionViolation,
// doTLSHandshake); the refusal tests fail if an upgrade changes them.
type natsLog struct {
	log     *slog.Logger
	refused *refusals
}

var _ server.Logger = (*natsLog)(nil)

var logMarkers = []struct{ marker, reason string }{
	{"Publish Violation", RefusedPublishDenied},
	{"Subscription Violation", RefusedSubscribeDenied},
	{"TLS handshake error", RefusedTLSHandshake},
}

func (l *natsLog) Noticef(format string, v ...any) { l.log.Info(fmt.Sprintf(format, v...)) }
func (l *natsLog) Warnf(format string, v ...any)   { l.log.Warn(fmt.Sprintf(format, v...)) }
func (l *natsLog) Fatalf(format string, v ...any)  { l.log.Error(fmt.Sprintf(format, v...)) }
func (l *natsLog) Debugf(format string, v ...any)  { l.log.Debug(fmt.Sprintf(format, v...)) }
func (l *natsLog) Tracef(format string, v ...any)  { l.log.Debug(fmt.Sprintf(format, v...)) }

func (l *natsLog) Errorf(format string, v ...any) {
	for _, m := range logMarkers {
		if strings.Contains(format, m.marker) {
			l.refused.add(m.reason)
			l.log.Warn(fmt.Sprintf(format, v...), slog.String("reason", m.reason))
			return
		}
	}
	l.log.Error(fmt.Sprintf(format, v...))
}
