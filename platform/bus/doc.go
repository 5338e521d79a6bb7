// Package bus implements A3.bus-access-control and B3.durable-bus: the USaPP
// message bus, NATS with JetStream, where every connection is a certified
// identity that may publish only on its own subjects, and where a reading the
// bus has acknowledged is on disk.
//
// # Deployment
//
// [StartServer] embeds nats-server in the process (the default of `usapp
// demo`); [Connect] reaches either that server or an external NATS cluster by
// URL. Both sides speak TLS only. The server requires a client certificate
// (tls.RequireAndVerifyClientCert), then hands the leaf certificate to a
// [PeerVerifier] (package comms/pki in production) that checks chain, expiry
// and revocation and names the [Identity]. Nothing else authenticates: there
// are no passwords, tokens or nkeys on the wire.
//
// An external server decides for itself. With auth callout configured it
// asks a [Callout] (run by the head-end) about every new client, which makes
// the same decision as the embedded server and answers with a user JWT: the
// LFDI as user name, the role's permissions below, the devices' account, and
// the certificate's NotAfter as expiry. The Callout and the [Evictor] reach
// the server as users it authenticates itself, by nkey ([DialService]).
//
// # Subjects (public contract, version usapp.v1)
//
// Subjects are versioned by their prefix; a change is a new prefix with a
// deprecation note in CHANGELOG.md, never an edit of these meanings.
//
//	usapp.v1.readings.<LFDI>  sealed readings from a gateway or a meter with its
//	                          own modem. Captured by the JetStream stream READINGS
//	                          (file storage, limits retention with no limits,
//	                          2-minute duplicate window keyed on the Nats-Msg-Id
//	                          header, deletes and purges denied).
//	usapp.v1.receipts.<LFDI>  the head-end's signed receipts back to that identity
//	                          (core NATS, not stored).
//	usapp.v1.commands.<LFDI>  commands to a device (reserved; no role may publish
//	                          them yet).
//	_INBOX.<LFDI>.>           replies to that identity, including JetStream
//	                          publish acknowledgements. Clients must use
//	                          nats.CustomInboxPrefix("_INBOX."+LFDI), which
//	                          [Connect] does.
//
// An LFDI on a subject is one NATS token of 1 to 64 characters from
// [A-Za-z0-9_-]; anything else (dots, wildcards) is refused at connect time, so
// an identity can never be widened into a wildcard.
//
// # Permissions
//
// The role is the first OU of the certificate, as reported by the verifier:
//
//	meter, gateway  publish  usapp.v1.readings.<own LFDI>
//	                subscribe usapp.v1.receipts.<own>, usapp.v1.commands.<own>,
//	                          _INBOX.<own>.>
//	headend         publish  usapp.v1.receipts.>, $JS.ACK.READINGS.>, and the
//	                         JetStream API subjects of the READINGS stream needed
//	                         to create it ($JS.API.INFO, STREAM.INFO/CREATE/UPDATE)
//	                         and to run a pull consumer on it (CONSUMER.CREATE,
//	                         DURABLE.CREATE, INFO, MSG.NEXT, DELETE, NAMES, LIST)
//	                subscribe _INBOX.<own>.> (fetched messages and API replies
//	                          arrive there)
//	bus, ca         everything (operators and the CA's publisher)
//
// A meter therefore cannot publish as another meter, cannot read another
// identity's receipts, commands or replies, and cannot use the JetStream API,
// so it cannot read anyone's stored readings either. NATS does not restrict
// the reply subject of a publish, so a meter can direct its own publish
// acknowledgement at another identity's inbox; inbox subjects end in random
// tokens, so this reaches no waiting request.
//
// All identities live in the server's global account, where JetStream is
// enabled when the server has no other accounts; the tests prove that
// publishing and consuming work for users registered by the authenticator.
//
// # Durability
//
// The embedded server runs JetStream with SyncAlways: the file store is
// fsynced before a publish is acknowledged. The NATS default (fsync every two
// minutes) lost acknowledged writes in Jepsen's 2025 analysis of NATS 2.12.1
// (https://jepsen.io/analyses/nats-2.12.1). An external server must be run
// with `jetstream { sync_interval: always }` for the same guarantee; this
// package cannot check that from a client. [PublishReading] returns only after
// the stream's acknowledgement, so a caller (the gateway's spool) may delete
// its copy once it returns nil.
//
// # Duplicates
//
// JetStream's duplicate window is keyed on the Nats-Msg-Id header across the
// whole stream, and any publisher chooses that header. [PublishReading] therefore
// derives it from the publisher's LFDI, the caller's message ID and a digest
// of the sealed payload, so that one meter cannot pre-empt another's reading
// by guessing its next ID. The window only saves work on retries; the
// head-end's idempotence on sender and sequence remains the authority.
//
// # Refusals
//
// Every refused connection, publish and subscription is logged with log/slog
// and counted by reason in [Server.Refusals]: connection refusals come from
// the authenticator; publish and subscribe violations and TLS handshake
// failures are taken from nats-server's own log lines, because the server
// offers no other hook for them (the tests pin those lines).
//
// # Concurrency
//
// A [Server] and a [Conn] are safe for concurrent use.
//
// # Revocation and expiry
//
// The verifier decides at connection. The server also closes a connection
// when its certificate expires (NotAfter, measured against ServerConfig.Now
// at connect time), and when its certificate is revoked later: every
// ServerConfig.ReverifyEvery it checks the certificates of its open
// connections again and closes those the verifier no longer admits, counted
// under [RefusedReverify]. With a [Revisioned] verifier (comms/pki's) it does
// so only after the revoked set has changed, so an idle fleet costs nothing.
// nats-server does not say which connection an authentication is for, so the
// server keeps each admitted certificate and finds it again in the
// connection list by its SHA-256; it forgets those of closed connections at
// each pass, and between passes once they outnumber the open ones. An
// external server cannot be told of revocations: a [Callout] refuses
// revoked certificates at connection, and an [Evictor], given a connection
// in its system account ([DialService]) and the digests of revoked
// certificates, closes their open connections from outside. On the client
// side, nats.go gives up
// reconnecting after two refusals in a row; [Conn.Closed] and [Conn.Err]
// (ErrCertificateRefused) let the connection's owner stop and say why.
package bus
