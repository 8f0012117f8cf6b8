package contracts

import (
	"slices"
	"strings"
)

// TopicMatch reports whether an AMQP topic binding pattern matches a routing
// key ("*" = exactly one word, "#" = zero or more words).
func TopicMatch(pattern, key string) bool {
	return topicMatch(strings.Split(pattern, "."), strings.Split(key, "."))
}

func topicMatch(p, k []string) bool {
	for len(p) > 0 {
		switch p[0] {
		case "#":
			for i := 0; i <= len(k); i++ {
				if topicMatch(p[1:], k[i:]) {
					return true
				}
			}
			return false
		case "*":
			if len(k) == 0 {
				return false
			}
		default:
			if len(k) == 0 || k[0] != p[0] {
				return false
			}
		}
		p, k = p[1:], k[1:]
	}
	return len(k) == 0
}

// QueuesFor simulates the broker: the queues a message published to r lands
// in, following exchange-to-exchange bindings. The default exchange routes
// to the queue named by the key. The result is sorted and without duplicates.
func (t Topology) QueuesFor(r Route) []string {
	kinds := map[string]ExchangeKind{}
	for _, e := range t.Exchanges {
		kinds[e.Name] = e.Kind
	}
	var out []string
	if r.Exchange == DefaultExchange {
		for _, q := range t.Queues {
			if q.Name == r.RoutingKey {
				out = append(out, q.Name)
			}
		}
		return out
	}
	seen := map[string]bool{}
	var walk func(exchange string)
	walk = func(exchange string) {
		if seen[exchange] {
			return
		}
		seen[exchange] = true
		for _, b := range t.Bindings {
			if b.Source != exchange {
				continue
			}
			match := b.Key == r.RoutingKey
			if kinds[exchange] == KindTopic {
				match = TopicMatch(b.Key, r.RoutingKey)
			}
			if !match {
				continue
			}
			if b.ToExchange {
				walk(b.Destination)
				continue
			}
			out = append(out, b.Destination)
		}
	}
	walk(r.Exchange)
	slices.Sort(out)
	return slices.Compact(out)
}
