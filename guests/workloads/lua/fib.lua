-- Recursive Fibonacci: function calls, integer adds and comparisons, nothing else.
-- Prints the check value: fib(N) and the number of calls it took.
local n = tonumber(arg and arg[1]) or 30

local calls = 0
local function fib(k)
  calls = calls + 1
  if k < 2 then
    return k
  end
  return fib(k - 1) + fib(k - 2)
end

local v = fib(n)
print(string.format("fib%d:%d:%d", n, v, calls))
