/*
 * flowsleuth's web console and report (src/web/page.js, built into the binary).
 * One script for both: a report carries its data in <script id="fs-data">; the served
 * page asks the API (/api/series, /api/top, /api/flows, /api/hosts, /api/services,
 * /api/alerts)
 * with the window and filter of the form. Charts are drawn with d3 (Debian's libjs-d3,
 * v3), inline in the page. Numbers in the DOM carry their exact values in data-*
 * attributes (the tests compare them with the CLI's).
 */
(function () {
    'use strict';
    var TOPS = [
        ['srcip/tbytes', 'Sources', 'src ip'],
        ['dstip/tbytes', 'Destinations', 'dst ip'],
        ['srcnet/tbytes', 'Source subnets', 'src net'],
        ['dport/tbytes', 'Destination ports', 'dst port'],
        ['proto/tbytes', 'Protocols', 'proto'],
        ['srcas/tbytes', 'Source AS', 'src as', 1],
        ['dstas/tbytes', 'Destination AS', 'dst as', 1]
    ];
    var METRICS = [['flows', 'flows'], ['bytes', 'tbytes'], ['packets', 'tpackets']];
    var DAYS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];
    var dataEl = document.getElementById('fs-data');
    var report = dataEl ? JSON.parse(dataEl.textContent) : null;
    var tokenMatch = location.hash.match(/token=([^&]+)/);
    var token = tokenMatch ? decodeURIComponent(tokenMatch[1]) : null;
    /* The series' bin: ?bin= in the address, else the page's (serve -b: the profile's). */
    var state = { window: '', filter: '',
        bin: document.querySelector('main').getAttribute('data-bin') || 300 };

    function $(id) { return document.getElementById(id); }

    function si(n) {
        var u = ['', ' k', ' M', ' G', ' T', ' P'], i = 0;
        while (Math.abs(n) >= 1000 && i < u.length - 1) { n /= 1000; i++; }
        return (i ? n.toFixed(1) : String(Math.round(n))) + u[i];
    }

    function isoTime(ms) { return new Date(ms).toISOString(); }

    function showError(msg) {
        var e = $('error');
        if (!msg) { e.hidden = true; e.textContent = ''; return; }
        e.hidden = false;
        e.textContent = msg;
    }

    function api(ep, params) {
        var q = [];
        var p = Object.assign({ t: state.window, filter: state.filter }, params || {});
        Object.keys(p).forEach(function (k) {
            if (p[k] !== '' && p[k] !== undefined && p[k] !== null)
                q.push(encodeURIComponent(k) + '=' + encodeURIComponent(p[k]));
        });
        var headers = token ? { Authorization: 'Bearer ' + token } : {};
        return fetch('api/' + ep + '?' + q.join('&'), { headers: headers }).then(function (r) {
            return r.json().then(function (j) {
                if (!r.ok) throw new Error(j.error || ('HTTP ' + r.status));
                return j;
            });
        });
    }

    /* ------------------------------------------------------------ series */

    function drawSeries(s) {
        var root = d3.select('#series');
        root.selectAll('*').remove();
        $('summary').innerHTML = '';
        var sum = d3.select('#summary');
        METRICS.forEach(function (m, i) {
            sum.append('span').attr('id', 'total-' + m[0]).attr('data-value', s.total[m[0]])
                .text((i ? ', ' : '') + si(s.total[m[0]]) + ' ' + m[1]);
        });
        sum.append('span').text(' in ' + s.start.length + ' bins of ' + s.bin + ' s' +
            (s.prev ? '; dashed: the period before' : '') +
            (s.band ? '; shaded: the baseline\'s band' : ''));
        /* A profile was given but its band does not fit this series: say why. */
        if (s.band_note)
            root.append('p').attr('id', 'band-note').attr('class', 'legend')
                .text('no baseline band: ' + s.band_note);
        var width = Math.max(600, (root.node().clientWidth || 900) - 20), height = 150;
        var margin = { top: 8, right: 16, bottom: 22, left: 60 };
        var w = width - margin.left - margin.right, h = height - margin.top - margin.bottom;
        METRICS.forEach(function (m) {
            var pts = s.start.map(function (t, i) { return [t, s[m[0]][i]]; });
            var prev = s.prev ? s.prev.start.map(function (t, i) { return [t, s.prev[m[0]][i]]; }) : [];
            var b = s.band ? s.band[m[0]] : null;
            /* [start, low, high]: the band flowsleuth anomaly judges each bin by */
            var band = b ? s.start.map(function (t, i) { return [t, b.low[i], b.high[i]]; }) : [];
            var all = pts.concat(prev);
            var x = d3.time.scale.utc().range([0, w])
                .domain(all.length ? d3.extent(all, function (d) { return d[0]; }) : [0, 1]);
            var top = Math.max(d3.max(all, function (d) { return d[1]; }) || 0,
                d3.max(band, function (d) { return d[2]; }) || 0);
            var y = d3.scale.linear().range([h, 0]).domain([0, top || 1]).nice();
            var svg = root.append('svg').attr('id', 'series-' + m[0]).attr('class', 'chart series')
                .attr('width', width).attr('height', height)
                .attr('data-total', s.total[m[0]]).attr('data-bins', pts.length)
                .append('g').attr('transform', 'translate(' + margin.left + ',' + margin.top + ')');
            svg.append('g').attr('class', 'x axis').attr('transform', 'translate(0,' + h + ')')
                .call(d3.svg.axis().scale(x).orient('bottom').ticks(8));
            svg.append('g').attr('class', 'y axis')
                .call(d3.svg.axis().scale(y).orient('left').ticks(4).tickFormat(si));
            svg.append('text').attr('x', 4).attr('y', 10).text(m[1] + ' per bin');
            if (band.length) {
                var area = d3.svg.area().x(function (d) { return x(d[0]); })
                    .y0(function (d) { return y(d[1]); }).y1(function (d) { return y(d[2]); });
                svg.insert('path', '.axis').datum(band).attr('class', 'band')
                    .attr('id', 'band-' + m[0]).attr('data-points', band.length).attr('d', area);
                var lg = svg.append('g').attr('class', 'band-legend')
                    .attr('transform', 'translate(' + (w - 250) + ',0)');
                lg.append('rect').attr('class', 'band').attr('width', 14).attr('height', 10);
                lg.append('text').attr('x', 18).attr('y', 9).text('baseline band (anomaly -k ' +
                    s.band.k + ', ' + s.band.tz + ')');
            }
            var line = d3.svg.line().x(function (d) { return x(d[0]); })
                .y(function (d) { return y(d[1]); });
            if (prev.length)
                svg.append('path').datum(prev).attr('class', 'line prev').attr('d', line);
            svg.append('path').datum(pts).attr('class', 'line').attr('d', line);
        });
    }

    /* ------------------------------------------------------------ top-N */

    /* An AS table of flows that carry no AS numbers (every flow's is 0, as a meter's
     * are) says nothing: its card is left out, marked so. */
    function noAs(t) {
        return t.rows.every(function (r) { return r.key === '0'; }) && !t.other.flows;
    }

    function drawTop(container, spec, title, field, t, isAs) {
        if (isAs && noAs(t)) {
            container.append('div').attr('class', 'card no-as').attr('data-key', spec)
                .attr('hidden', '');
            return;
        }
        var card = container.append('div').attr('class', 'card');
        card.append('h3').text(title + ' by tbytes');
        var rows = t.rows.map(function (r) {
            return { key: r.key, label: r.label, bytes: r.bytes, flows: r.flows, packets: r.packets };
        });
        if (t.other.bytes || t.other.flows)
            rows.push({ key: null, label: 'other (' + (t.keys - t.rows.length) + ')',
                bytes: t.other.bytes, flows: t.other.flows, packets: t.other.packets });
        var bh = 18, lw = 190, width = 440, h = rows.length * bh + 4;
        var x = d3.scale.linear().range([0, width - lw - 70])
            .domain([0, d3.max(rows, function (r) { return r.bytes; }) || 1]);
        var svg = card.append('svg').attr('class', 'chart bars').attr('data-key', spec)
            .attr('width', width).attr('height', h);
        var g = svg.selectAll('g').data(rows).enter().append('g')
            .attr('class', function (r) { return r.key === null ? 'bar other' : 'bar'; })
            .attr('transform', function (r, i) { return 'translate(0,' + i * bh + ')'; })
            .attr('data-key', function (r) { return r.key === null ? 'other' : r.key; })
            .attr('data-bytes', function (r) { return r.bytes; })
            .attr('data-flows', function (r) { return r.flows; })
            .attr('data-packets', function (r) { return r.packets; });
        g.append('text').attr('x', lw - 6).attr('y', bh - 5).attr('text-anchor', 'end')
            .text(function (r) { return r.label; });
        g.append('rect').attr('x', lw).attr('y', 2).attr('height', bh - 4)
            .attr('width', function (r) { return Math.max(1, x(r.bytes)); });
        g.append('text').attr('x', function (r) { return lw + Math.max(1, x(r.bytes)) + 4; })
            .attr('y', bh - 5).text(function (r) { return si(r.bytes); });
        g.filter(function (r) { return r.key !== null; }).on('click', function (r) {
            drill(field + ' ' + r.key);
        });
        if (!t.rows.length)
            card.append('p').attr('class', 'legend').text('no flows');
    }

    /* ------------------------------------------------------------ heat map */

    function drawHeat(s) {
        var root = d3.select('#heat');
        root.selectAll('*').remove();
        var cells = [];
        for (var d = 0; d < 7; d++)
            for (var hr = 0; hr < 24; hr++)
                cells.push({ day: d, hour: hr, flows: 0 });
        s.start.forEach(function (t, i) {
            var dt = new Date(t);
            var day = (dt.getUTCDay() + 6) % 7;
            cells[day * 24 + dt.getUTCHours()].flows += s.flows[i];
        });
        var cw = 28, ch = 18, left = 40, top = 16;
        var max = d3.max(cells, function (c) { return c.flows; }) || 1;
        var color = d3.scale.linear().domain([0, max]).range(['#f0f4fa', '#08306b']);
        var svg = root.append('svg').attr('id', 'heatmap').attr('class', 'chart heat')
            .attr('width', left + 24 * cw + 10).attr('height', top + 7 * ch + 4);
        for (var h2 = 0; h2 < 24; h2 += 3)
            svg.append('text').attr('x', left + h2 * cw).attr('y', 11).text(h2 + 'h');
        DAYS.forEach(function (name, i) {
            svg.append('text').attr('x', 4).attr('y', top + i * ch + 13).text(name);
        });
        svg.selectAll('rect.cell').data(cells).enter().append('rect').attr('class', 'cell')
            .attr('x', function (c) { return left + c.hour * cw; })
            .attr('y', function (c) { return top + c.day * ch; })
            .attr('width', cw).attr('height', ch)
            .attr('data-flows', function (c) { return c.flows; })
            .attr('fill', function (c) { return color(c.flows); })
            .append('title').text(function (c) { return DAYS[c.day] + ' ' + c.hour + 'h: ' + c.flows + ' flows'; });
    }

    /* ------------------------------------------------------------ tables */

    function table(id, cols, rows, onclick) {
        var root = d3.select('#' + id);
        root.selectAll('*').remove();
        var t = root.append('table').attr('id', id + '-table');
        t.append('tr').selectAll('th').data(cols).enter().append('th')
            .attr('class', function (c) { return c.num ? 'num' : null; })
            .text(function (c) { return c.title; });
        var tr = t.selectAll('tr.row').data(rows).enter().append('tr')
            .attr('class', onclick ? 'row clickable' : 'row');
        cols.forEach(function (c) {
            var td = tr.append('td').attr('class', function (r) {
                return (c.num ? 'num' : '') + (c.cls ? ' ' + c.cls(r) : '');
            });
            if (c.render) {
                td.each(function (r) { c.render(d3.select(this), r); });
                return;
            }
            td.attr('data-value', function (r) { return r[c.key]; })
                .text(function (r) { return c.fmt ? c.fmt(r[c.key], r) : r[c.key]; });
        });
        if (onclick)
            tr.on('click', onclick);
        return root;
    }

    /* The class of a cell whose text may wrap (the others stay on one line). */
    function wrap() { return 'wrap'; }

    /* A host's packages, one span each; an outdated one says the newest version. */
    function software(td, r) {
        var n = 0;
        (r.software || []).forEach(function (p, i) {
            if (i) td.append('span').text(', ');
            td.append('span').attr('class', p.outdated ? 'pkg outdated' : 'pkg')
                .attr('data-name', p.name).attr('data-version', p.version)
                .attr('data-arch', p.arch).attr('data-flows', p.flows)
                .attr('data-newest', p.newest)
                .attr('title', p.outdated ? 'outdated: the catalogue has ' + p.newest : null)
                .text(p.name + ' ' + p.version + (p.outdated ? ' (newest ' + p.newest + ')' : ''));
            n += p.outdated ? 1 : 0;
        });
        return n;
    }

    function drawHosts(hs) {
        var cols = [
            { key: 'host', title: 'host' },
            { key: 'flows', title: 'flows', num: 1 },
            { key: 'bytes', title: 'tbytes', num: 1, fmt: si },
            { key: 'initiated', title: 'initiated', num: 1 },
            { key: 'answered', title: 'answered', num: 1 },
            { key: 'first', title: 'first', fmt: isoTime },
            { key: 'last', title: 'last', fmt: isoTime }
        ];
        var outdated = 0;
        if (hs.catalogue)
            cols.push({ key: 'software', title: 'software (outdated marked)', cls: wrap,
                render: function (td, r) { outdated += software(td, r); } });
        table('hosts', cols, hs.rows, function (r) { drill('host ' + r.host); });
        d3.select('#hosts').append('p').attr('class', 'legend').attr('id', 'hosts-legend')
            .attr('data-catalogue', hs.catalogue ? 1 : 0).attr('data-outdated', outdated)
            .text(hs.count + ' hosts' + (hs.count > hs.rows.length ? ', the ' + hs.rows.length + ' with most tbytes shown' : '') +
                (hs.catalogue ? '; ' + outdated + ' outdated package' + (outdated === 1 ? '' : 's') +
                    ' shown (a newer version in the catalogue)'
                    : '; no catalogue given (-c CAT): software not shown'));
    }

    function drawServices(sv) {
        table('services', [
            { key: 'server', title: 'server' },
            { key: 'proto', title: 'proto' },
            { key: 'port', title: 'port', num: 1 },
            { key: 'clients', title: 'clients', num: 1 },
            { key: 'flows', title: 'flows', num: 1 },
            { key: 'bytes', title: 'tbytes', num: 1, fmt: si },
            { key: 'status', title: 'status', cls: function (r) { return r.status; } }
        ], sv.rows, function (r) {
            if (r.status !== 'missing')
                drill('dst ip ' + r.server + ' and proto ' + r.proto + ' and dst port ' + r.port);
        });
        d3.select('#services').append('p').attr('class', 'legend')
            .text(sv.count + ' services' + (sv.authorised_list ? '' : ' (no authorised inventory given: every one is unexpected)'));
    }

    /* What a finding found, in a few words (the rest is in the row's data). */
    function alertWhat(r) {
        if (r.detector === 'spam')
            return r.servers + ' mail servers (' + r.peak + ' in one hour)';
        return r.kind + ' scan by ' + r.method + ': ' + r.targets + ' hosts, ' + r.ports +
            ' ports, ' + r.failed + ' unanswered';
    }

    function drawAlerts(al) {
        table('alerts', [
            { key: 'detector', title: 'detector' },
            { key: 'src', title: 'source' },
            { key: 'what', title: 'what', fmt: function (v, r) { return alertWhat(r); } },
            { key: 'flows', title: 'flows', num: 1 },
            { key: 'score', title: 'score', num: 1,
                fmt: function (v) { return v === undefined ? '' : v.toFixed(2); } },
            { key: 'first', title: 'first', fmt: isoTime },
            { key: 'last', title: 'last', fmt: isoTime },
            { key: 'evidence', title: 'evidence (click: its flows)', cls: wrap }
        ], al.rows, function (r) { drill(r.evidence, true); });
        d3.select('#alerts').append('p').attr('class', 'legend').attr('id', 'alerts-legend')
            .attr('data-count', al.count)
            .text(al.count ? al.count + ' findings of flowsleuth scan and spam (their defaults)' +
                (al.count > al.rows.length ? ', the first ' + al.rows.length + ' shown' : '')
                : 'no findings of flowsleuth scan or spam (their defaults)');
    }

    function drawFlows(fl, label) {
        $('drill').textContent = label ? 'under ' + label : '';
        table('flows', [
            { key: 'first', title: 'first' },
            { key: 'src', title: 'src' },
            { key: 'sport', title: 'sport', num: 1 },
            { key: 'dst', title: 'dst' },
            { key: 'dport', title: 'dport', num: 1 },
            { key: 'proto', title: 'proto' },
            { key: 'packets', title: 'packets', num: 1 },
            { key: 'bytes', title: 'bytes', num: 1 },
            { key: 'rpackets', title: 'rpackets', num: 1 },
            { key: 'rbytes', title: 'rbytes', num: 1 }
        ], fl.rows);
        d3.select('#flows').append('p').attr('class', 'legend').attr('id', 'flows-count')
            .attr('data-rows', fl.rows.length)
            .text(fl.rows.length + ' flows shown' + (fl.more ? ' (more: narrow the filter)' : ''));
    }

    /* ------------------------------------------------------------ loading */

    function both(a, b) {
        if (!a) return b;
        if (!b) return a;
        return '(' + a + ') and (' + b + ')';
    }

    /* The flows under the page's filter and expr; exact: expr is the whole filter (an
     * alert's evidence already holds the page's filter). */
    function drill(expr, exact) {
        var f = exact ? expr : both(state.filter, expr);
        if (report) {
            showError('the report holds the flows of its filter only: run flowsleuth print -t "' +
                state.window + '" ' + f + ' or open it in flowsleuth serve');
            return;
        }
        api('flows', { filter: f, limit: 100 }).then(function (fl) {
            showError('');
            drawFlows(fl, f);
            $('flows-section').scrollIntoView();
        }).catch(function (e) { showError(e.message); });
    }

    function drawAll(d) {
        drawSeries(d.series);
        drawHeat(d.series);
        var tops = d3.select('#tops');
        tops.selectAll('*').remove();
        TOPS.forEach(function (t) { drawTop(tops, t[0], t[1], t[2], d.tops[t[0]], t[3]); });
        drawHosts(d.hosts);
        drawServices(d.services);
        drawAlerts(d.alerts);
        drawFlows(d.flows, state.filter);
        document.body.setAttribute('data-drawn', '1');
    }

    function load() {
        state.window = $('window').value.trim();
        state.filter = $('filter').value.trim();
        if (report) {
            report.tops = report.top.tops;
            drawAll(report);
            return;
        }
        document.body.removeAttribute('data-drawn');
        var d = { tops: {} };
        var reqs = [api('series', { bin: state.bin }).then(function (s) { d.series = s; })];
        /* the top-10s in one request: the server answers them in one scan */
        reqs.push(api('top', { key: TOPS.map(function (t) { return t[0]; }).join(','), n: 10 })
            .then(function (r) { d.tops = r.tops; }));
        reqs.push(api('hosts', { n: 50 }).then(function (r) { d.hosts = r; }));
        reqs.push(api('services', { n: 50 }).then(function (r) { d.services = r; }));
        reqs.push(api('alerts', { n: 100 }).then(function (r) { d.alerts = r; }));
        reqs.push(api('flows', { limit: 100 }).then(function (r) { d.flows = r; }));
        Promise.all(reqs).then(function () {
            showError('');
            drawAll(d);
        }).catch(function (e) {
            showError(e.message);
            document.body.setAttribute('data-drawn', 'error');
        });
    }

    $('query').addEventListener('submit', function (ev) {
        ev.preventDefault();
        load();
    });
    if (report) {
        $('window').readOnly = true;
        $('filter').readOnly = true;
        $('apply').hidden = true;
    } else {
        var m = location.search.match(/[?&]filter=([^&]*)/);
        if (m) $('filter').value = decodeURIComponent(m[1].replace(/\+/g, ' '));
        var tw = location.search.match(/[?&]t=([^&]*)/);
        if (tw) $('window').value = decodeURIComponent(tw[1].replace(/\+/g, ' '));
        var bw = location.search.match(/[?&]bin=([0-9]+)/);
        if (bw) state.bin = bw[1];
    }
    load();
})();
