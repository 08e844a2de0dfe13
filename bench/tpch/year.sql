SELECT EXTRACT(YEAR FROM o_orderdate) AS o_year, sum(o_totalprice) AS total, count(*) AS n FROM orders GROUP BY EXTRACT(YEAR FROM o_orderdate) ORDER BY o_year
