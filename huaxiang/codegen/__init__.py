"""The tag catalog and the audience definitions, and the dbt SQL and docs generated from them.

`catalog` loads and validates `dbt_project/tag_catalog.yml`; `tags` renders what derives from it
(a dbt macro, dbt doc blocks, docs/tags.md); `audiences` compiles `dbt_project/audiences/*.yml`
into one dbt model; `cut_points` is the Python reference of the tags' derived thresholds.
`huaxiang codegen [--check]` (`generate`) writes or checks every generated file at once.
"""
