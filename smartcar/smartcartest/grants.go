package smartcartest

import (
	"log/slog"
	"slices"
	"time"
)

// AllScopes are the permissions the simulator knows: those of its endpoints
// (see endpoints) and commands.
var AllScopes = []string{
	"read_vehicle_info", "read_vin", "read_odometer", "read_location", "read_battery",
	"read_charge", "control_charge", "read_fuel", "read_tires", "read_engine_oil",
	"read_security", "control_security", "control_navigation", "read_service_history",
	"read_diagnostics", "read_user_profile",
}

// Tokens is a token pair issued for a grant. Its String and LogValue
// methods hide the tokens.
type Tokens struct {
	AccessToken  string `json:"accessToken"`
	RefreshToken string `json:"refreshToken"`
	ExpiresIn    int    `json:"expiresIn"` // seconds
	UserID       string `json:"userId"`
}

// String never shows the tokens.
func (t Tokens) String() string {
	return "smartcartest.Tokens{user_id:" + t.UserID + " access_token:REDACTED refresh_token:REDACTED}"
}

// LogValue makes slog print the pair without its tokens.
func (t Tokens) LogValue() slog.Value {
	return slog.GroupValue(slog.String("user_id", t.UserID), slog.String("access_token", "REDACTED"),
		slog.String("refresh_token", "REDACTED"))
}

// grant is one completed Connect: a user, the vehicles they approved and the
// scopes. Fields other than vehicles and revoked never change.
type grant struct {
	id       string
	userID   string
	scopes   map[string]bool
	vehicles map[string]time.Time // vehicle id → connected at; guarded by Server.mu
	revoked  bool                 // guarded by Server.mu
	mode     string               // Connect mode: live (also ""), test or simulated
}

type accessToken struct {
	g       *grant
	expires time.Time
	fp      string
}

type refreshToken struct {
	g       *grant
	expires time.Time
	spent   bool
	spentAt time.Time
	next    *pair // the pair issued when it was spent
}

type pair struct {
	access, refresh string
	expires         time.Time // of the access token
}

// newGrant creates a grant; the caller holds s.mu for writing.
func (s *Server) newGrant(userID string, vehicleIDs, scopes []string, now time.Time) *grant {
	g := &grant{id: s.ids.uuid(), userID: userID, scopes: map[string]bool{}, vehicles: map[string]time.Time{}}
	if scopes == nil {
		scopes = AllScopes
	}
	for _, sc := range scopes {
		g.scopes[sc] = true
	}
	for _, id := range vehicleIDs {
		if _, ok := s.vehicles[id]; ok {
			g.vehicles[id] = now
		}
	}
	s.grants[g.id] = g
	return g
}

// issue makes a new token pair for g; the caller holds s.mu for writing.
func (s *Server) issue(g *grant, now time.Time) *pair {
	p := &pair{access: s.ids.uuid(), refresh: s.ids.uuid(), expires: now.Add(s.cfg.accessTTL)}
	s.access[p.access] = &accessToken{g: g, expires: p.expires, fp: fingerprint(p.access)}
	s.refresh[p.refresh] = &refreshToken{g: g, expires: now.Add(s.cfg.refreshTTL)}
	s.issueCount++
	if s.issueCount%1024 == 0 {
		s.prune(now)
	}
	return p
}

// prune forgets tokens that expired more than a day ago, keeping memory
// bounded in long runs; the caller holds s.mu for writing.
func (s *Server) prune(now time.Time) {
	cutoff := now.Add(-24 * time.Hour)
	for k, t := range s.access {
		if t.expires.Before(cutoff) {
			delete(s.access, k)
		}
	}
	for k, t := range s.refresh {
		if t.expires.Before(cutoff) || (t.spent && t.spentAt.Add(s.cfg.refreshGrace).Before(cutoff)) {
			delete(s.refresh, k)
		}
	}
}

func (p *pair) tokens(userID string, now time.Time) Tokens {
	return Tokens{AccessToken: p.access, RefreshToken: p.refresh, UserID: userID,
		ExpiresIn: max(0, int(p.expires.Sub(now).Seconds()))}
}

// Connect completes a Connect flow without a browser: the owner of the
// first vehicle (or the first user) approves vehicleIDs (nil = every
// vehicle; unknown ids are ignored) for scopes (nil = AllScopes). It returns
// a fresh token pair.
func (s *Server) Connect(vehicleIDs []string, scopes []string) Tokens {
	now := s.clock()
	s.mu.Lock()
	defer s.mu.Unlock()
	user := s.users[0]
	if vehicleIDs == nil {
		for _, v := range s.order {
			vehicleIDs = append(vehicleIDs, v.ID)
		}
	} else if len(vehicleIDs) > 0 {
		if v, ok := s.vehicles[vehicleIDs[0]]; ok {
			user = v.UserID
		}
	}
	g := s.newGrant(user, vehicleIDs, scopes, now)
	return s.issue(g, now).tokens(user, now)
}

// ConnectUser is Connect for a given user: vehicleIDs nil means every
// vehicle the user owns. It reports false for an unknown user.
func (s *Server) ConnectUser(userID string, vehicleIDs []string, scopes []string) (Tokens, bool) {
	now := s.clock()
	s.mu.Lock()
	defer s.mu.Unlock()
	if !slices.Contains(s.users, userID) {
		return Tokens{}, false
	}
	if vehicleIDs == nil {
		vehicleIDs = s.userVehicles(userID)
	}
	g := s.newGrant(userID, vehicleIDs, scopes, now)
	return s.issue(g, now).tokens(userID, now), true
}

// RevokeGrant revokes every grant of userID: its access tokens get
// AUTHENTICATION errors and its refresh tokens invalid_grant. It returns how
// many grants it revoked.
func (s *Server) RevokeGrant(userID string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, g := range s.grants {
		if g.userID == userID && !g.revoked {
			g.revoked = true
			n++
		}
	}
	return n
}

// RevokeVehicle disconnects a vehicle from every grant (as the management
// API's DELETE does); requests for it then get PERMISSION errors. It returns
// the users it was connected to.
func (s *Server) RevokeVehicle(vehicleID string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.disconnect(vehicleID, "")
}

// disconnect removes vehicleID from the grants of userID ("" = every user)
// and returns the users it was removed for; the caller holds s.mu.
func (s *Server) disconnect(vehicleID, userID string) []string {
	var users []string
	for _, g := range s.grants {
		if userID != "" && g.userID != userID {
			continue
		}
		if _, ok := g.vehicles[vehicleID]; ok {
			delete(g.vehicles, vehicleID)
			if !slices.Contains(users, g.userID) {
				users = append(users, g.userID)
			}
		}
	}
	slices.Sort(users)
	return users
}

// authenticate checks a bearer token; it returns the grant and the token's
// fingerprint, or an AUTHENTICATION error.
func (s *Server) authenticate(c *call) (*grant, *apiError) {
	token := bearer(c.r)
	s.mu.RLock()
	at := s.access[token]
	var revoked bool
	if at != nil {
		revoked = at.g.revoked
	}
	s.mu.RUnlock()
	switch {
	case at == nil:
		c.rec.Token = fingerprint(token)
		s.stats.invalidTokenUses.Add(1)
		return nil, newError("AUTHENTICATION", "")
	case !c.now.Before(at.expires):
		c.rec.Token = at.fp
		s.stats.expiredTokenUses.Add(1)
		return nil, newError("AUTHENTICATION", "")
	case revoked:
		c.rec.Token = at.fp
		s.stats.invalidTokenUses.Add(1)
		return nil, newError("AUTHENTICATION", "")
	}
	c.rec.Token = at.fp
	return at.g, nil
}

// grantVehicle returns vehicle id if g covers it, or a PERMISSION error.
func (s *Server) grantVehicle(g *grant, id string) (*vehicle, *apiError) {
	s.mu.RLock()
	_, ok := g.vehicles[id]
	v := s.vehicles[id]
	s.mu.RUnlock()
	if !ok || v == nil {
		return nil, newError("PERMISSION", "")
	}
	return v, nil
}

// grantVehicleIDs returns the vehicles of g in creation order.
func (s *Server) grantVehicleIDs(g *grant) []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var ids []string
	for _, v := range s.order {
		if _, ok := g.vehicles[v.ID]; ok {
			ids = append(ids, v.ID)
		}
	}
	return ids
}
