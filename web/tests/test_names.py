"""The accessible names WEB.md lists are the English catalog's strings, and both catalogs
hold the same keys (every string in English and Korean)."""

from conftest import NAME_KEYS, Names, catalog


def test_the_english_catalog_has_web_md_names():
    en = catalog("en")
    for english, key in NAME_KEYS.items():
        assert en[key] == Names("en")[english], (english, key, en[key])


def test_both_catalogs_have_the_same_keys_and_no_empty_string():
    en, ko = catalog("en"), catalog("ko")
    assert len(en) > 200
    assert set(en) == set(ko), sorted(set(en) ^ set(ko))
    assert all(v.strip() for v in list(en.values()) + list(ko.values()))
    untranslated = [k for k in en if en[k] == ko[k] and not k.startswith("admin.ttl")]
    assert len(untranslated) <= 3, untranslated
