-- Table churn: a hash table under constant insert and delete, arrays grown, sorted and
-- shrunk, small records created and dropped, so the garbage collector stays busy.
-- Prints the check value: a checksum of what survives each round.
local rounds = tonumber(arg and arg[1]) or 40

local seed = 42
local function rand(k)
  seed = (seed * 1103515245 + 12345) % 2147483648
  return seed % k
end

local map = {}
local live = 0
local sum = 0
for r = 1, rounds do
  -- Hash part: insert and delete string and integer keys.
  for i = 1, 5000 do
    local k = rand(20000)
    local key = (k % 3 == 0) and ("k" .. k) or k
    if map[key] then
      map[key] = nil
      live = live - 1
    else
      map[key] = { id = k, round = r, tag = key }
      live = live + 1
    end
  end
  -- Array part: records sorted by two fields, then the worst half dropped.
  local arr = {}
  for _, v in pairs(map) do
    arr[#arr + 1] = v
  end
  table.sort(arr, function(a, b)
    if a.round ~= b.round then
      return a.round > b.round
    end
    return a.id < b.id
  end)
  for i = #arr, (#arr // 2) + 1, -1 do
    table.remove(arr)
  end
  local s = 0
  for i = 1, #arr do
    s = (s * 31 + arr[i].id + arr[i].round) % 1000000007
  end
  sum = (sum + s + live) % 1000000007
end
print(string.format("%d:%d", live, sum))
