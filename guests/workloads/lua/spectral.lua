-- Spectral norm of the infinite matrix a(i,j) = 1 / ((i+j)(i+j+1)/2 + i + 1), truncated to
-- N x N, by power iteration on AᵀA. Nested loops of floating-point divides and adds.
-- Prints the check value: the estimated norm to 12 decimals.
local n = tonumber(arg and arg[1]) or 200
local iterations = 10

local function a(i, j)
  local ij = i + j
  return 1.0 / (ij * (ij + 1) // 2 + i + 1)
end

-- out = A * v
local function mulA(v, out)
  for i = 0, n - 1 do
    local s = 0.0
    for j = 0, n - 1 do
      s = s + a(i, j) * v[j]
    end
    out[i] = s
  end
end

-- out = Aᵀ * v
local function mulAt(v, out)
  for i = 0, n - 1 do
    local s = 0.0
    for j = 0, n - 1 do
      s = s + a(j, i) * v[j]
    end
    out[i] = s
  end
end

local u, v, t = {}, {}, {}
for i = 0, n - 1 do
  u[i] = 1.0
end
for _ = 1, iterations do
  mulA(u, t)
  mulAt(t, v)
  mulA(v, t)
  mulAt(t, u)
end
local uv, vv = 0.0, 0.0
for i = 0, n - 1 do
  uv = uv + u[i] * v[i]
  vv = vv + v[i] * v[i]
end
print(string.format("%.12f", math.sqrt(uv / vv)))
