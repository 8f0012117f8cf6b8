// Command tflab is Ticketflow Lab's one binary: it brings the lab up, serves
// the services of the systems under test, runs scenarios and benchmarks.
package main

import "os"

func main() {
	os.Exit(int(execute(os.Args[1:])))
}
