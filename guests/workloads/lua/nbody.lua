-- N-body: a made-up star with four planets on roughly circular orbits, integrated with a
-- plain symplectic Euler step. Floating-point multiply, add, divide and sqrt in a tight loop.
-- Prints the check value: the system's total energy before and after, to 12 decimals, which
-- any machine with correct IEEE double arithmetic reproduces bit for bit.
local steps = tonumber(arg and arg[1]) or 100000
local sqrt = math.sqrt

-- mass, x, y, z, vx, vy, vz (units where G = 1)
local bodies = {
  { 1000.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0 },
  { 1.0, 10.0, 0.0, 0.1, 0.0, 10.0, 0.2 },
  { 0.5, 0.0, -17.0, -0.3, 7.6, 0.0, 0.0 },
  { 2.5, -25.0, 3.0, 0.0, -0.8, -6.3, 0.1 },
  { 0.2, 4.0, 39.0, 1.0, -5.0, 0.5, -0.2 },
}
local nb = #bodies

-- Move to the centre-of-mass frame so the star does not drift away.
do
  local px, py, pz, m = 0.0, 0.0, 0.0, 0.0
  for i = 1, nb do
    local b = bodies[i]
    px = px + b[1] * b[5]
    py = py + b[1] * b[6]
    pz = pz + b[1] * b[7]
    m = m + b[1]
  end
  for i = 1, nb do
    local b = bodies[i]
    b[5] = b[5] - px / m
    b[6] = b[6] - py / m
    b[7] = b[7] - pz / m
  end
end

local function energy()
  local e = 0.0
  for i = 1, nb do
    local a = bodies[i]
    e = e + 0.5 * a[1] * (a[5] * a[5] + a[6] * a[6] + a[7] * a[7])
    for j = i + 1, nb do
      local b = bodies[j]
      local dx, dy, dz = a[2] - b[2], a[3] - b[3], a[4] - b[4]
      e = e - a[1] * b[1] / sqrt(dx * dx + dy * dy + dz * dz)
    end
  end
  return e
end

local function advance(dt)
  for i = 1, nb do
    local a = bodies[i]
    local am, ax, ay, az = a[1], a[2], a[3], a[4]
    for j = i + 1, nb do
      local b = bodies[j]
      local dx, dy, dz = ax - b[2], ay - b[3], az - b[4]
      local d2 = dx * dx + dy * dy + dz * dz
      local mag = dt / (d2 * sqrt(d2))
      local bm = b[1] * mag
      a[5] = a[5] - dx * bm
      a[6] = a[6] - dy * bm
      a[7] = a[7] - dz * bm
      local amag = am * mag
      b[5] = b[5] + dx * amag
      b[6] = b[6] + dy * amag
      b[7] = b[7] + dz * amag
    end
  end
  for i = 1, nb do
    local b = bodies[i]
    b[2] = b[2] + dt * b[5]
    b[3] = b[3] + dt * b[6]
    b[4] = b[4] + dt * b[7]
  end
end

local e0 = energy()
for _ = 1, steps do
  advance(0.001)
end
print(string.format("%.12f:%.12f", e0, energy()))
