//go:build !labtest

package main

// withLabtestSystems returns systems unchanged: only a binary built with
// the "labtest" tag knows the lab's test systems.
func withLabtestSystems(systems map[string]system) map[string]system { return systems }
