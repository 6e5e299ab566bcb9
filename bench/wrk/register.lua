-- Registrations of fresh instances: every request a new id, r-<n>, spread over the services.
-- Arguments (after `--`): service count, the registration body (JSON).
local services, body, n
local headers = { ['Content-Type'] = 'application/json' }

function init(args)
  services = tonumber(args[1])
  body = args[2]
  n = 0
end

function request()
  n = n + 1
  return wrk.format('PUT', string.format('/v1/services/svc-%d/instances/r-%d', n % services, n), headers, body)
end
