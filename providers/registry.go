package providers

import (
	"fmt"
	"sort"
	"strings"
)

// Registry holds the provider factories by name. A type's provider is its
// prefix ("docker" for "docker_image"); lang.ProviderForType is that rule.
type Registry struct {
	factories map[string]Factory
}

// NewRegistry returns a registry of the given factories keyed by provider name.
func NewRegistry(factories map[string]Factory) *Registry {
	return &Registry{factories: factories}
}

// Factory returns the factory for a provider name.
func (r *Registry) Factory(provider string) (Factory, error) {
	f, ok := r.factories[provider]
	if !ok {
		return nil, fmt.Errorf("no provider named %q (known: %s)", provider, strings.Join(r.Names(), ", "))
	}
	return f, nil
}

// Names lists the known provider names, sorted.
func (r *Registry) Names() []string {
	names := make([]string, 0, len(r.factories))
	for n := range r.factories {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
