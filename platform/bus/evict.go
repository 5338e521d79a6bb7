package bus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// An external NATS server (bus.url) checks a client's chain at the TLS
// handshake but knows nothing of the CA's revocations: a device revoked
// after it connected, or one that reconnects after, stays on it. The
// embedded server closes such connections itself (Server.Reverify). For an
// external one an Evictor does it from outside, through the server's system
// account: it finds the servers ($SYS.REQ.SERVER.PING.IDZ), lists each
// one's client connections with their certificates' SHA-256
// ($SYS.REQ.SERVER.<id>.CONNZ, page by page) and asks the server holding a revoked one to close
// it ($SYS.REQ.SERVER.<id>.KICK). The server must list certificates, which it
// does to system-account requests with "auth" set.
//
// The digest is the link because CONNZ reports nothing else of the
// certificate: the caller maps revoked serials to digests (the head-end does
// so from the CA's directory).

// DefaultEvictTimeout is how long, by default, a sweep waits for each
// answer.
const DefaultEvictTimeout = 2 * time.Second

// evictQuiet is how long a sweep keeps listening after the last server
// answered the ping. A server that answers later is swept next time.
const evictQuiet = 250 * time.Millisecond

// connzPage is how many connections one CONNZ answer lists.
const connzPage = 1024

// ErrNoSystemAnswer reports a sweep that no server answered: the connection
// is not in the system account, or the servers are down.
var ErrNoSystemAnswer = errors.New("bus: no server answered the system account's connection list")

// EvictorConfig configures an Evictor.
type EvictorConfig struct {
	// Conn is a connection in the servers' system account (DialService).
	Conn *nats.Conn
	// Revoked reports whether the certificate whose DER has this SHA-256
	// (lower-case hex, as CONNZ reports it) may no longer use the bus.
	Revoked func(certSHA256 string) bool
	Timeout time.Duration // a sweep's wait for each answer; 0: DefaultEvictTimeout
	Log     *slog.Logger
}

// Evictor closes the connections of revoked certificates on an external NATS
// (A1.revocation, A3.bus-access-control). It is safe for concurrent use.
type Evictor struct {
	cfg     EvictorConfig
	page    int
	evicted atomic.Uint64
}

// NewEvictor checks cfg and fills in its defaults.
func NewEvictor(cfg EvictorConfig) (*Evictor, error) {
	switch {
	case cfg.Conn == nil:
		return nil, fmt.Errorf("%w: Evictor needs a system-account connection", ErrConfig)
	case cfg.Revoked == nil:
		return nil, fmt.Errorf("%w: Evictor needs Revoked", ErrConfig)
	case cfg.Timeout < 0:
		return nil, fmt.Errorf("%w: Evictor timeout must not be negative", ErrConfig)
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultEvictTimeout
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	return &Evictor{cfg: cfg, page: connzPage}, nil
}

// Evicted is how many connections the Evictor has closed.
func (e *Evictor) Evicted() uint64 { return e.evicted.Load() }

// Sweep lists the client connections of every server that answers and
// closes those whose certificate is revoked. It returns how many it closed;
// each is counted in Evicted and logged. A server whose list fails is
// reported in the error, and the others are swept all the same.
func (e *Evictor) Sweep(ctx context.Context) (int, error) {
	servers, err := e.pingServers(ctx)
	if err != nil {
		return 0, err
	}
	closed, errs := 0, []error(nil)
	for _, srv := range servers {
		for offset := 0; ; {
			page, err := e.connz(ctx, srv.ID, offset)
			if err != nil {
				errs = append(errs, err)
				break
			}
			closed += e.evictFrom(ctx, srv, page.Data.Conns)
			offset = page.Data.Offset + len(page.Data.Conns)
			if len(page.Data.Conns) == 0 || offset >= page.Data.Total {
				break
			}
		}
	}
	return closed, errors.Join(errs...)
}

// connzAnswer is a server's answer to a system-account CONNZ request.
type connzAnswer struct {
	Server serverID        `json:"server"`
	Data   *server.Connz   `json:"data"`
	Error  *systemAPIError `json:"error"`
}

// serverID names the server that answered a system request.
type serverID struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

type systemAPIError struct {
	Code        int    `json:"code"`
	Description string `json:"description"`
}

func (e *systemAPIError) Error() string {
	return fmt.Sprintf("bus: system request failed: %d %s", e.Code, e.Description)
}

// connzRequest asks for open client connections with their certificates.
func (e *Evictor) connzRequest(offset int) []byte {
	b, _ := json.Marshal(server.ConnzOptions{Username: true, Offset: offset, Limit: e.page, State: server.ConnOpen})
	return b
}

// pingServers finds the servers by the system account's IDZ ping and
// collects their answers until none has come for evictQuiet. The ping is
// IDZ, not CONNZ, because nats-server maps an ordinary account's
// $SYS.REQ.SERVER.PING.CONNZ to a list of that account's own connections: a
// connection outside the system account would get an answer that silently
// leaves every other account out. IDZ reaches the system account only.
func (e *Evictor) pingServers(ctx context.Context) ([]serverID, error) {
	nc := e.cfg.Conn
	inbox := nc.NewInbox()
	sub, err := nc.SubscribeSync(inbox)
	if err != nil {
		return nil, fmt.Errorf("bus: system inbox: %w", err)
	}
	defer sub.Unsubscribe()
	if err := nc.PublishRequest("$SYS.REQ.SERVER.PING.IDZ", inbox, nil); err != nil {
		return nil, fmt.Errorf("bus: system request: %w", err)
	}
	var servers []serverID
	seen := map[string]bool{}
	for wait := e.cfg.Timeout; ; wait = evictQuiet {
		wctx, cancel := context.WithTimeout(ctx, wait)
		msg, err := sub.NextMsgWithContext(wctx)
		cancel()
		if err != nil {
			break
		}
		var id serverID // IDZ answers with the bare server.ServerID
		if json.Unmarshal(msg.Data, &id) != nil || id.ID == "" || seen[id.ID] {
			continue
		}
		seen[id.ID] = true
		servers = append(servers, id)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if len(servers) == 0 {
		return nil, ErrNoSystemAnswer
	}
	return servers, nil
}

// connz asks one server for the page of its connections from offset on.
func (e *Evictor) connz(ctx context.Context, serverID string, offset int) (*connzAnswer, error) {
	ctx, cancel := context.WithTimeout(ctx, e.cfg.Timeout)
	defer cancel()
	msg, err := e.cfg.Conn.RequestWithContext(ctx, "$SYS.REQ.SERVER."+serverID+".CONNZ", e.connzRequest(offset))
	if err != nil {
		return nil, fmt.Errorf("bus: connection list of server %s: %w", serverID, err)
	}
	return decodeConnz(msg.Data)
}

func decodeConnz(data []byte) (*connzAnswer, error) {
	var a connzAnswer
	if err := json.Unmarshal(data, &a); err != nil {
		return nil, fmt.Errorf("bus: connection list: %w", err)
	}
	if a.Error != nil {
		return nil, a.Error
	}
	if a.Data == nil || a.Server.ID == "" {
		return nil, errors.New("bus: connection list without server or data")
	}
	return &a, nil
}

// evictFrom closes the connections of one page whose certificate is revoked.
func (e *Evictor) evictFrom(ctx context.Context, srv serverID, conns []*server.ConnInfo) int {
	closed := 0
	for _, ci := range conns {
		if len(ci.TLSPeerCerts) == 0 || !e.cfg.Revoked(ci.TLSPeerCerts[0].CertSha256) {
			continue
		}
		if err := e.kick(ctx, srv.ID, ci.Cid); err != nil {
			e.cfg.Log.Info("bus: a revoked device's connection was not closed (gone already?)",
				"server", srv.Name, "cid", ci.Cid, "err", err)
			continue
		}
		closed++
		e.evicted.Add(1)
		e.cfg.Log.Warn("bus: connection closed on the external server: its certificate is revoked",
			slog.String("server", srv.Name), slog.Uint64("cid", ci.Cid), slog.String("name", ci.Name),
			slog.String("remote", ci.IP), slog.String("cert_sha256", ci.TLSPeerCerts[0].CertSha256))
	}
	return closed
}

// kick asks server serverID to close connection cid.
func (e *Evictor) kick(ctx context.Context, serverID string, cid uint64) error {
	ctx, cancel := context.WithTimeout(ctx, e.cfg.Timeout)
	defer cancel()
	body, _ := json.Marshal(server.KickClientReq{CID: cid})
	msg, err := e.cfg.Conn.RequestWithContext(ctx, "$SYS.REQ.SERVER."+serverID+".KICK", body)
	if err != nil {
		return err
	}
	var a struct {
		Error *systemAPIError `json:"error"`
	}
	if err := json.Unmarshal(msg.Data, &a); err != nil {
		return fmt.Errorf("bus: kick answer: %w", err)
	}
	if a.Error != nil {
		return a.Error
	}
	return nil
}
