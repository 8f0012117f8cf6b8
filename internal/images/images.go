package images

import (
	_ "embed"
	"fmt"
	"strings"
)

//go:embed versions.txt
var versions string

// Roles of the pinned images.
const (
	RabbitMQ = "rabbitmq"
	Jaeger   = "jaeger"
	Golang   = "golang"
	Runtime  = "runtime"
)

// Pinned returns the pinned images by role, parsed from versions.txt.
func Pinned() (map[string]string, error) { return parse(versions) }

// Image returns the pinned image of role; it panics on an unknown role or
// a malformed versions.txt, which the package's tests rule out.
func Image(role string) string {
	m, err := Pinned()
	if err != nil {
		panic(err)
	}
	img, ok := m[role]
	if !ok {
		panic(fmt.Sprintf("images: no pinned image for role %q", role))
	}
	return img
}

// parse reads "role image:tag" lines; '#' starts a comment.
func parse(text string) (map[string]string, error) {
	out := map[string]string{}
	for i, line := range strings.Split(text, "\n") {
		line, _, _ = strings.Cut(line, "#")
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		if len(f) != 2 {
			return nil, fmt.Errorf("versions.txt:%d: want \"role image:tag\", got %q", i+1, line)
		}
		role, img := f[0], f[1]
		name, tag, ok := strings.Cut(img, ":")
		if !ok || name == "" || tag == "" || tag == "latest" {
			return nil, fmt.Errorf("versions.txt:%d: image %q: want name:tag with a pinned tag", i+1, img)
		}
		if _, dup := out[role]; dup {
			return nil, fmt.Errorf("versions.txt:%d: role %q repeated", i+1, role)
		}
		out[role] = img
	}
	return out, nil
}
