// Package est implements A1.enrolment and A1.certificate-rotation over HTTP:
// a subset of Enrollment over Secure Transport (EST, RFC 7030) in front of a
// [pki.CA], and the matching client.
//
// # Endpoints
//
// All under /.well-known/est/:
//
//	GET  cacerts         the root certificate, DER, application/pkix-cert
//	POST simpleenroll    base64 DER PKCS#10 (application/pkcs10) with
//	                     "Authorization: Bearer <token>"; answers the base64
//	                     DER certificate, application/pkix-cert
//	POST simplereenroll  same body; the TLS client certificate is the
//	                     credential and the certificate being rotated
//	GET  crl             the current CRL, DER, application/pkix-crl
//
// GET /crl serves the same CRL at a short, conventional distribution point.
//
// # Departures from RFC 7030
//
// Answers carry a bare certificate instead of a PKCS#7 certs-only structure:
// USaPP has a single root and no intermediates, so the container would only
// add an ASN.1 parser on every meter. cacerts answers raw DER for the same
// reason. Authentication for simpleenroll is a one-time bearer token (the
// "out-of-band" credential of RFC 7030 section 3.3.2) rather than HTTP Basic
// or a bootstrap certificate. The request's subject is ignored: role, name
// and gateway binding come from the token or from the current certificate.
// Errors are JSON objects {"code": ..., "message": ...} with a stable code.
//
// # Hostile input
//
// Request bodies are capped at 64 KiB (413 beyond), content types are
// checked (415), the body must be base64 of a self-signed PKCS#10 (400).
// Every rejection is logged with log/slog and counted; [Handler.Stats]
// returns the counters. A token is spent only once the request has been
// parsed and its signature checked (see package pki).
//
// # TLS
//
// simplereenroll needs the client certificate, but the decision belongs to
// package pki, which distinguishes revoked (403) from expired or foreign
// (401) certificates. So the TLS server must request a client certificate
// without verifying it: [ServerTLSConfig] sets that up. The TLS handshake
// still proves that the client holds the certificate's private key.
//
// Handler and Client are safe for concurrent use.
package est
