package smartcartest

import (
	"encoding/json"
	"strings"
)

// apiError is a v2.0 Smartcar error body (type, code, description, docURL,
// statusCode, requestId, resolution: https://smartcar.com/docs/api-reference/api-errors).
type apiError struct {
	Type        string
	Code        string
	Status      int
	Description string
	Resolution  string // RETRY_LATER, REAUTHENTICATE, CONTACT_SUPPORT or "" (null)
	UserMessage string
	RetryAfter  int // seconds; 0 = no Retry-After
	Detail      []errorDetail
	JSONAPI     bool // render as a JSON:API {"errors": [...]} body
}

type errorDetail struct {
	Field   []string `json:"field"`
	Message string   `json:"message"`
}

// outcome is how a record names this error: TYPE or TYPE:CODE.
func (e *apiError) outcome() string {
	if e.Code == "" {
		return e.Type
	}
	return e.Type + ":" + e.Code
}

type errorInfo struct {
	status      int
	description string
	resolution  string
}

// typeInfo holds the defaults of each error type; codeInfo overrides them.
var typeInfo = map[string]errorInfo{
	"AUTHENTICATION":             {401, "The authorization header is missing or malformed, or it contains invalid or expired authentication credentials. Please check for missing parameters, spelling and casing mistakes, and other syntax issues.", ""},
	"PERMISSION":                 {403, "Your application has insufficient permissions to access the requested resource. Please prompt the user to re-authenticate using Smartcar Connect.", "REAUTHENTICATE"},
	"RESOURCE_NOT_FOUND":         {404, "The requested resource does not exist.", ""},
	"VALIDATION":                 {400, "Request invalid or malformed. Please check for missing parameters, spelling and casing mistakes, and other syntax issues.", ""},
	"CONNECTED_SERVICES_ACCOUNT": {400, "Action needed in the user's connected services account.", "CONTACT_SUPPORT"},
	"BILLING":                    {430, "Your application's plan does not allow this request.", "CONTACT_SUPPORT"},
	"COMPATIBILITY":              {501, "This vehicle is not capable of performing the request.", ""},
	"RATE_LIMIT":                 {429, "You have reached the throttling rate limit.", "RETRY_LATER"},
	"UPSTREAM":                   {502, "Smartcar received an unexpected response from the vehicle manufacturer.", "RETRY_LATER"},
	"VEHICLE_STATE":              {409, "The vehicle is in a state that prevents this request.", "RETRY_LATER"},
	"SERVER":                     {500, "Smartcar encountered an unexpected error.", "RETRY_LATER"},
}

var codeInfo = map[string]errorInfo{
	"RESOURCE_NOT_FOUND:PATH":                          {404, "The requested path does not exist.", ""},
	"RESOURCE_NOT_FOUND:VERSION":                       {404, "The requested API version does not exist.", ""},
	"VALIDATION:PARAMETER":                             {400, "A parameter of the request is invalid.", ""},
	"CONNECTED_SERVICES_ACCOUNT:AUTHENTICATION_FAILED": {400, "Smartcar was unable to authenticate with the user's connected services account. Please prompt the user to re-authenticate using Smartcar Connect.", "REAUTHENTICATE"},
	"BILLING:VEHICLE_REQUEST_LIMIT":                    {430, "You have reached the monthly request limit for this vehicle.", "CONTACT_SUPPORT"},
	"BILLING:VEHICLE_LIMIT":                            {430, "You have reached the number of vehicles your plan allows.", "CONTACT_SUPPORT"},
	"COMPATIBILITY:VEHICLE_NOT_CAPABLE":                {501, "The vehicle is incapable of performing your request.", ""},
	"COMPATIBILITY:MAKE_NOT_COMPATIBLE":                {501, "The vehicle's make is not compatible with this request.", ""},
	"COMPATIBILITY:SMARTCAR_NOT_CAPABLE":               {501, "Smartcar does not support this request for this vehicle yet.", ""},
	"RATE_LIMIT:SMARTCAR_API":                          {429, "You have reached the throttling rate limit for this application. Please see the Retry-After header for when to retry the request.", "RETRY_LATER"},
	"RATE_LIMIT:VEHICLE":                               {429, "You have reached the throttling rate limit for this vehicle. Please see the Retry-After header for when to retry the request.", "RETRY_LATER"},
	"UPSTREAM:RATE_LIMIT":                              {429, "The vehicle manufacturer's rate limit for this vehicle was reached.", "RETRY_LATER"},
	"VEHICLE_STATE:ASLEEP":                             {409, "The vehicle is in a sleep state and temporarily unable to perform your request.", ""},
	"VEHICLE_STATE:UNREACHABLE":                        {409, "The vehicle was unable to perform your request because it is currently unreachable.", "RETRY_LATER"},
	"VEHICLE_STATE:REMOTE_ACCESS_DISABLED":             {409, "Remote access is disabled in the vehicle.", ""},
	"VEHICLE_STATE:CHARGING_PLUG_NOT_CONNECTED":        {409, "The vehicle is not connected to an EV charger.", ""},
	"VEHICLE_STATE:CHARGING_IN_PROGRESS":               {409, "The vehicle is already charging.", ""},
	"VEHICLE_STATE:NOT_CHARGING":                       {409, "The vehicle is not charging.", ""},
	"VEHICLE_STATE:FULLY_CHARGED":                      {409, "The vehicle is fully charged.", ""},
	"SERVER:INTERNAL":                                  {500, "Smartcar encountered an unexpected error.", "RETRY_LATER"},
}

// newError builds an error of the given type and code with the status,
// description and resolution Smartcar uses for it.
func newError(typ, code string) *apiError {
	info, ok := codeInfo[typ+":"+code]
	if !ok {
		info, ok = typeInfo[typ]
		if !ok {
			info = errorInfo{status: 500, description: "An error occurred."}
		}
	}
	return &apiError{Type: typ, Code: code, Status: info.status, Description: info.description, Resolution: info.resolution}
}

func validationError(field, message string) *apiError {
	e := newError("VALIDATION", "PARAMETER")
	e.Detail = []errorDetail{{Field: []string{field}, Message: message}}
	return e
}

// docURL returns the documentation link Smartcar puts in an error body.
func docURL(typ, code string) string {
	anchor := "null"
	if code != "" {
		anchor = strings.ToLower(strings.ReplaceAll(code, "_", "-"))
	}
	return "https://smartcar.com/docs/errors/api-errors/" +
		strings.ToLower(strings.ReplaceAll(typ, "_", "-")) + "-errors#" + anchor
}

type errorResolution struct {
	Type *string `json:"type"`
}

type errorBody struct {
	Type                 string          `json:"type"`
	Code                 *string         `json:"code"`
	Description          string          `json:"description"`
	DocURL               string          `json:"docURL"`
	StatusCode           int             `json:"statusCode"`
	RequestID            string          `json:"requestId"`
	Resolution           errorResolution `json:"resolution"`
	SuggestedUserMessage string          `json:"suggestedUserMessage,omitempty"`
	Detail               []errorDetail   `json:"detail,omitempty"`
}

// body renders the v2.0 JSON body of e (or its JSON:API form).
func (e *apiError) body(requestID string) []byte {
	if e.JSONAPI {
		return e.jsonAPIBody()
	}
	b := errorBody{
		Type:                 e.Type,
		Description:          e.Description,
		DocURL:               docURL(e.Type, e.Code),
		StatusCode:           e.Status,
		RequestID:            requestID,
		SuggestedUserMessage: e.UserMessage,
		Detail:               e.Detail,
	}
	if e.Code != "" {
		b.Code = &e.Code
	}
	if e.Resolution != "" {
		b.Resolution.Type = &e.Resolution
	}
	out, _ := json.Marshal(b) // cannot fail: only strings, ints and slices
	return out
}
