package tickets

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
)

// Position of an agent (original ints: Agent=0, Supervisor=1).
type Position string

// Positions.
const (
	PositionAgent      Position = "Agent"
	PositionSupervisor Position = "Supervisor"
)

// Agent is a desk member. Id equals UserId for the seeded agents.
type Agent struct {
	ID        string   `json:"id"`
	UserID    string   `json:"userId"`
	FullName  string   `json:"fullName"`
	Position  Position `json:"position"`
	AvatarURL string   `json:"avatarUrl"`
}

// SeedAgents returns the original seed (spec §2.2): one supervisor and two
// agents with their ids, names and dicebear "notionists" avatars.
func SeedAgents() []Agent {
	mk := func(n int, name string, p Position) Agent {
		id := fmt.Sprintf("00000000-0000-0000-0000-%012d", n)
		return Agent{ID: id, UserID: id, FullName: name, Position: p,
			AvatarURL: "https://api.dicebear.com/9.x/notionists/svg?seed=" + url.QueryEscape(strings.Fields(name)[0])}
	}
	return []Agent{
		mk(1, "Bogusław Złotówa", PositionSupervisor),
		mk(2, "Ziemowit Pędziwiatr", PositionAgent),
		mk(3, "Kunegunda Śmieszek", PositionAgent),
	}
}

// Directory is the agent directory. The zero value is empty.
type Directory struct {
	agents []Agent
}

// NewDirectory returns a directory of agents (SeedAgents when none given).
func NewDirectory(agents ...Agent) Directory {
	if len(agents) == 0 {
		agents = SeedAgents()
	}
	return Directory{agents: append([]Agent(nil), agents...)}
}

// All returns the agents in seed order.
func (d Directory) All() []Agent { return append([]Agent(nil), d.agents...) }

// ByID finds an agent by id.
func (d Directory) ByID(id string) (Agent, error) {
	for _, a := range d.agents {
		if strings.EqualFold(a.ID, id) {
			return a, nil
		}
	}
	return Agent{}, NotFound("agent", id)
}

// ByUserID finds an agent by user id.
func (d Directory) ByUserID(userID string) (Agent, error) {
	for _, a := range d.agents {
		if strings.EqualFold(a.UserID, userID) {
			return a, nil
		}
	}
	return Agent{}, NotFound("user", userID)
}

// UnmarshalJSON accepts names (any case) and the original numbers.
func (p *Position) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		var n int
		if err := json.Unmarshal(b, &n); err != nil {
			return fmt.Errorf("position: %s", b)
		}
		s = fmt.Sprint(n)
	}
	switch strings.ToLower(s) {
	case "agent", "0":
		*p = PositionAgent
	case "supervisor", "1":
		*p = PositionSupervisor
	default:
		return fmt.Errorf("unknown position %q", s)
	}
	return nil
}
