// Package toxihost embeds a Toxiproxy server (github.com/Shopify/toxiproxy/v2)
// in the calling process and serves its standard HTTP API on 127.0.0.1, so the
// official toxiproxy-cli and Go client work against the lab unchanged.
//
// # Design
//
// Toxiproxy's own ApiServer.Listen takes an address and blocks, which hides
// the chosen port when asked for port 0. Host instead opens the listener
// itself and serves ApiServer.Routes() on it, so "127.0.0.1:0" works and the
// API is ready the moment Start returns: no readiness polling, no sleeps.
//
// Proxies are created in-process (AddProxy) and are then ordinary Toxiproxy
// proxies: toxics, enable/disable and deletion go through the HTTP API or the
// Go client returned by Client.
//
// Toxiproxy logs with zerolog; Host discards those logs unless a debug-level
// slog handler is given, in which case they are forwarded line by line.
//
// The module is the lab's copy in third_party/toxiproxy (go.mod replaces
// it): v2.12.0 with one patch, so that removing a latency toxic while
// clients close their connections returns instead of deadlocking
// (Shopify/toxiproxy#558; TestRemoveLatencyWhileClientsClose).
package toxihost
