-- tools/bench-nginx's Lua variant (L): what an OpenResty-style script does
-- for the same job as `vpt on`, with Debian's packages (libnginx-mod-http-lua,
-- lua-nginx-redis, lua-cjson):
--
--   init    the catalog (conf.d/catalog.json) read once, the page's offers
--   access  the shopper's context: a Redis GET on a cosocket, cjson
--   rank    the eligible offers by prior x value, the best rendered
--   body    a split-safe splice before the first anchor: the last
--           #anchor - 1 bytes of each buffer are held back for the next
--
-- Like sub_filter, and unlike the module, it does not read the HTML: an
-- anchor inside a script or a comment counts too.  A failure anywhere
-- leaves the page as it is.

local cjson = require "cjson.safe"

local M = {}
local offers = {}


function M.init(catalog, page)
    local f = assert(io.open(catalog, "r"))
    local c = assert(cjson.decode(f:read("*a")))
    f:close()

    for _, o in ipairs(c.offers) do
        for _, p in ipairs(o.pages or {}) do
            if p == page then
                offers[#offers + 1] = o
            end
        end
    end
end


local function has_any(list, set)
    for _, v in ipairs(list or {}) do
        if set[v] then
            return true
        end
    end
    return false
end


local function rank(ctx)
    local in_cart, bought = {}, {}

    for _, item in ipairs(ctx.cart or {}) do
        in_cart[item.category or ""] = true
        in_cart[item.sku or ""] = true
    end
    for _, item in ipairs(ctx.viewed or {}) do
        bought[item.category or ""] = true
    end

    local member = ctx.user and ctx.user.loyalty_member
    local best, best_score = nil, 0

    for _, o in ipairs(offers) do
        local ok = true

        if o.categories_any and not has_any(o.categories_any, in_cart) then
            ok = false
        end
        if o.exclude_if_in_cart and has_any(o.exclude_if_in_cart, in_cart)
        then
            ok = false
        end
        if o.loyalty_member ~= nil and o.loyalty_member ~= (member or false)
        then
            ok = false
        end

        if ok then
            local score = (o.prior or 0)
                          * ((o.value or 0) + (o.long_term_value or 0))
            if score > best_score then
                best, best_score = o, score
            end
        end
    end

    return best
end


function M.access(port, timeout)
    local sid = ngx.var.cookie_vpt_sid
    if not sid then
        return
    end

    local redis = require "nginx.redis"
    local r = redis:new()
    r:set_timeout(timeout or 20)

    if not r:connect("127.0.0.1", port) then
        return
    end

    local v = r:get("vpt:ctx:" .. sid)
    r:set_keepalive(10000, 16)

    if not v or v == ngx.null then
        return
    end

    local ctx = cjson.decode(v)
    if type(ctx) ~= "table" then
        return
    end

    local o = rank(ctx)
    if not o then
        return
    end

    local beacon = "d=" .. ngx.var.request_id .. "&amp;o=" .. o.id
    ngx.ctx.snippet = '<div class="vpt-offer">'
        .. o.markup:gsub("{{beacon}}", function () return beacon end)
        .. "</div>"
end


function M.header()
    if ngx.ctx.snippet then
        ngx.header.content_length = nil
    end
end


function M.body(anchor)
    local snippet = ngx.ctx.snippet
    if not snippet or ngx.ctx.done then
        return
    end

    local data = (ngx.ctx.held or "") .. (ngx.arg[1] or "")
    ngx.ctx.held = nil

    local i = string.find(data, anchor, 1, true)
    if i then
        ngx.arg[1] = data:sub(1, i - 1) .. snippet .. data:sub(i)
        ngx.ctx.done = true
        return
    end

    if ngx.arg[2] then
        ngx.arg[1] = data
        return
    end

    local keep = #anchor - 1
    if #data > keep then
        ngx.arg[1] = data:sub(1, #data - keep)
        ngx.ctx.held = data:sub(#data - keep + 1)
    else
        ngx.arg[1] = ""
        ngx.ctx.held = data
    end
end


return M
