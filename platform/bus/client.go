package bus

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"regexp"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// ClientConfig configures a connection to the bus.
type ClientConfig struct {
	URL      string      // e.g. Server.ClientURL() or an external nats:// or tls:// URL
	TLS      *tls.Config // client certificate and RootCAs (required)
	Identity string      // own LFDI; sets the inbox prefix. Empty only for admin roles.
	Name     string      // connection name shown in server monitoring
	Log      *slog.Logger
}

// Conn is a connection to the bus.
type Conn struct {
	NC *nats.Conn
	JS jetstream.JetStream

	log    *slog.Logger
	denied deniedWatch

	closed    chan struct{} // closed when the connection is closed for good
	closeOnce sync.Once
	closeErr  error // why, when the server ended it; read after closed
}

// connectTimeout bounds the first connection when ctx has no deadline.
const connectTimeout = 10 * time.Second

// Connect dials the bus over TLS. Once connected, the connection reconnects
// forever with capped exponential backoff, except when the server refuses
// its certificate twice in a row (nats.go then gives up): a certificate
// revoked or expired while connected ends the connection, and [Conn.Closed]
// says so. The first connection is not retried, so a refused certificate is
// reported here.
func Connect(ctx context.Context, cfg ClientConfig) (*Conn, error) {
	if cfg.TLS == nil {
		return nil, fmt.Errorf("%w: client TLS is required", ErrConfig)
	}
	if cfg.Identity != "" && !ValidToken(cfg.Identity) {
		return nil, ErrBadIdentity
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	c := &Conn{log: cfg.Log, closed: make(chan struct{})}
	nc, err := nats.Connect(cfg.URL, c.options(ctx, cfg)...)
	if err != nil {
		return nil, fmt.Errorf("bus: connect: %w", err)
	}
	if err := ctx.Err(); err != nil {
		nc.Close()
		return nil, err
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("bus: jetstream: %w", err)
	}
	c.NC, c.JS = nc, js
	return c, nil
}

func (c *Conn) options(ctx context.Context, cfg ClientConfig) []nats.Option {
	opts := []nats.Option{
		nats.Secure(cfg.TLS.Clone()),
		nats.Name(cfg.Name),
		nats.Timeout(dialTimeout(ctx)),
		nats.MaxReconnects(-1),
		nats.CustomReconnectDelay(reconnectDelay),
		nats.PermissionErrOnSubscribe(true),
		nats.ErrorHandler(c.onAsyncError),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				c.log.Warn("bus: disconnected", "err", err)
			}
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) { c.log.Info("bus: reconnected", "url", nc.ConnectedUrlRedacted()) }),
		nats.ClosedHandler(func(nc *nats.Conn) {
			err := nc.LastError()
			switch {
			case err == nil:
				err = ErrConnectionClosed
			case errors.Is(err, nats.ErrAuthorization):
				err = fmt.Errorf("%w: %w", ErrCertificateRefused, err)
			}
			c.markClosed(err)
		}),
	}
	if cfg.Identity != "" {
		opts = append(opts, nats.CustomInboxPrefix(inbox(cfg.Identity)))
	}
	return opts
}

// dialTimeout bounds a first connection: ctx's deadline, or connectTimeout.
func dialTimeout(ctx context.Context) time.Duration {
	if d, ok := ctx.Deadline(); ok {
		return max(time.Until(d), time.Millisecond)
	}
	return connectTimeout
}

// reconnectDelay doubles from 250 ms up to 30 s, with up to 25 % jitter so a
// feeder of meters does not reconnect in lockstep after an outage.
func reconnectDelay(attempts int) time.Duration {
	const base, ceiling = 250 * time.Millisecond, 30 * time.Second
	d := ceiling
	if attempts < 8 {
		d = min(base<<attempts, ceiling)
	}
	return d + rand.N(d/4+1)
}

// Close drains nothing: pending publishes are the caller's (the spool's) to
// resend.
func (c *Conn) Close() {
	c.markClosed(nil)
	c.NC.Close()
}

// Closed is closed once the connection is closed for good: by Close, or by
// the server and nats.go giving up (then Err says why).
func (c *Conn) Closed() <-chan struct{} { return c.closed }

// Err is why the connection closed when it was not closed by Close: for a
// certificate the server no longer accepts, ErrCertificateRefused (wrapping
// nats.ErrAuthorization). It is nil while the connection is open and after
// Close.
func (c *Conn) Err() error {
	select {
	case <-c.closed:
		return c.closeErr
	default:
		return nil
	}
}

// markClosed records why the connection ended (nil: Close); the first
// caller wins, so Close's own callback does not turn it into an error.
func (c *Conn) markClosed(err error) {
	c.closeOnce.Do(func() {
		c.closeErr = err
		close(c.closed)
	})
}

func (c *Conn) onAsyncError(_ *nats.Conn, sub *nats.Subscription, err error) {
	if errors.Is(err, nats.ErrPermissionViolation) {
		c.log.Warn("bus: permission violation", "err", err)
		if subject, ok := deniedPublishSubject(err.Error()); ok {
			c.denied.fire(subject)
		}
		return
	}
	if sub != nil {
		c.log.Warn("bus: subscription error", "subject", sub.Subject, "err", err)
		return
	}
	c.log.Warn("bus: async error", "err", err)
}

// deniedPublishRe extracts the subject from the server's -ERR line; the
// protocol carries the refused subject only in this text.
var deniedPublishRe = regexp.MustCompile(`(?i)permissions violation for publish to "([^"\s]+)"`)

// deniedPublishSubject parses the subject out of a publish permissions
// violation message.
func deniedPublishSubject(msg string) (string, bool) {
	m := deniedPublishRe.FindStringSubmatch(msg)
	if m == nil {
		return "", false
	}
	return m[1], true
}

// deniedWatch lets a publisher waiting for an acknowledgement learn that the
// server refused its subject instead of waiting out its timeout.
type deniedWatch struct {
	mu      sync.Mutex
	next    uint64
	waiters map[string]map[uint64]func()
}

func (w *deniedWatch) watch(subject string, f func()) (stop func()) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.waiters == nil {
		w.waiters = make(map[string]map[uint64]func())
	}
	if w.waiters[subject] == nil {
		w.waiters[subject] = make(map[uint64]func())
	}
	id := w.next
	w.next++
	w.waiters[subject][id] = f
	return func() {
		w.mu.Lock()
		defer w.mu.Unlock()
		delete(w.waiters[subject], id)
		if len(w.waiters[subject]) == 0 {
			delete(w.waiters, subject)
		}
	}
}

func (w *deniedWatch) fire(subject string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, f := range w.waiters[subject] {
		f()
	}
}

// PublishReading publishes data on lfdi's reading subject and returns once
// the stream has acknowledged it, which with SyncAlways means it is on disk.
// A retry with the same msgID and data within DuplicateWindow is acknowledged
// without being stored twice (see streamMsgID); an empty msgID disables that.
// A refusal by the server is reported as ErrPermission.
func PublishReading(ctx context.Context, c *Conn, lfdi string, msgID string, data []byte) error {
	return PublishReadingHeaders(ctx, c, lfdi, msgID, data, nil)
}

// PublishReadingHeaders is PublishReading with extra message headers (the
// head-end reads protocol hints from them; they carry nothing secret and are
// not trusted for anything the envelope authenticates).
func PublishReadingHeaders(ctx context.Context, c *Conn, lfdi string, msgID string, data []byte, hdr nats.Header) error {
	if !ValidToken(lfdi) {
		return ErrBadIdentity
	}
	subject := ReadingSubject(lfdi)
	pctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	stop := c.denied.watch(subject, func() { cancel(ErrPermission) })
	defer stop()
	if hdr == nil {
		hdr = nats.Header{}
	}
	msg := &nats.Msg{Subject: subject, Data: data, Header: hdr}
	var opts []jetstream.PublishOpt
	if msgID != "" {
		opts = append(opts, jetstream.WithMsgID(streamMsgID(lfdi, msgID, data)))
	}
	_, err := c.JS.PublishMsg(pctx, msg, opts...)
	if err == nil {
		return nil
	}
	if errors.Is(context.Cause(pctx), ErrPermission) {
		return fmt.Errorf("%w: publish to %s", ErrPermission, subject)
	}
	return fmt.Errorf("bus: publish reading: %w", err)
}

// streamMsgID is the Nats-Msg-Id for a reading. JetStream deduplicates on
// this header across the whole stream, not per subject, and any publisher may
// set it; were it the caller's msgID alone, one meter could pre-empt another's
// next sequence number and have that reading acknowledged as a duplicate but
// never stored. Binding the ID to the publisher's LFDI and to a digest of the
// (sealed, unpredictable) payload leaves retries of the same reading as the
// only duplicates. The head-end's own sender+sequence idempotence stays the
// authority; this window only saves work.
func streamMsgID(lfdi, msgID string, data []byte) string {
	sum := sha256.Sum256(data)
	return lfdi + ":" + msgID + ":" + hex.EncodeToString(sum[:16])
}
