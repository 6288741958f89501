-- String building: formatting, concatenation through buffers, gsub, find and rep, the way
-- scripts that produce text use Lua. Allocates and collects many short-lived strings.
-- Prints the check value: the length of the final text and a 32-bit FNV-1a hash of it.
local rounds = tonumber(arg and arg[1]) or 200

local words = { "alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel" }
local seed = 12345
local function rand(k)
  seed = (seed * 1103515245 + 12345) % 2147483648
  return seed % k
end

local function hash(s, h)
  for i = 1, #s, 4 do
    local a, b, c, d = string.byte(s, i, i + 3)
    h = ((h ~ a) * 16777619) & 0xffffffff
    if b then h = ((h ~ b) * 16777619) & 0xffffffff end
    if c then h = ((h ~ c) * 16777619) & 0xffffffff end
    if d then h = ((h ~ d) * 16777619) & 0xffffffff end
  end
  return h
end

local total, h = 0, 2166136261
for r = 1, rounds do
  local parts = {}
  for i = 1, 400 do
    local w = words[rand(#words) + 1]
    parts[#parts + 1] = string.format("%s-%d:%x", w, i * r, rand(65536))
  end
  local line = table.concat(parts, " ")
  line = line:gsub("(%a+)-(%d+)", function(w, d)
    return w:upper() .. "." .. d
  end)
  local count = 0
  for _ in line:gmatch("[AEIOU]") do
    count = count + 1
  end
  line = line .. string.rep("#", count % 17) .. tostring(count)
  total = total + #line
  h = hash(line, h)
end
print(string.format("%d:%08x", total, h))
