-- Heartbeats spread evenly over the instances the bench registered: instance i-<n> of service
-- svc-<n % services>, visited round-robin as a fleet heartbeating on a fixed period would be.
-- Arguments (after `--`): instance count, service count.
local instances, services, n

function init(args)
  instances = tonumber(args[1])
  services = tonumber(args[2])
  n = 0
end

function request()
  n = (n + 1) % instances
  return wrk.format('PUT', string.format('/v1/services/svc-%d/instances/i-%d/heartbeat', n % services, n))
end
