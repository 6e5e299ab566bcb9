-- Registrations of fresh instances: every request a new id, <tag>-<n>, spread over the services.
-- Arguments (after `--`): service count, the registration body (JSON), and optionally the id's
-- tag (default r), so several wrk runs against one registry never send the same id.
local services, body, tag, n
local headers = { ['Content-Type'] = 'application/json' }

function init(args)
  services = tonumber(args[1])
  body = args[2]
  tag = args[3] or 'r'
  n = 0
end

function request()
  n = n + 1
  return wrk.format('PUT', string.format('/v1/services/svc-%d/instances/%s-%d', n % services, tag, n), headers, body)
end
