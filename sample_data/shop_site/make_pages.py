"""Writes the product pages of sample_data/shop_site: one shop template, four languages,
three encodings (UTF-8, Windows-1252, Shift_JIS). Run it after editing the reviews here."""

from pathlib import Path

HERE = Path(__file__).resolve().parent

HEAD = """<!DOCTYPE html>
<html lang="{lang}">
<head>
{meta}  <title>{title} — Lumen Hair Co.</title>
  <link rel="canonical" href="{canonical}">
</head>
<body>
  <header class="site-header">
    <nav class="main-nav">
      <a href="/index.html">Shop</a>
      <a href="/cart.html">Cart (0)</a>
      <a href="/account/login.html">Sign in</a>
    </nav>
  </header>
  <main>
    <div class="product">
      <h1 class="product-name">{title}</h1>
      <p class="price">{price}</p>
      <form action="/cart.html" method="post"><button>{buy}</button></form>
    </div>
    <section id="reviews" class="reviews">
      <h2>{heading}</h2>
      <a class="sort" href="?sort=newest">{newest}</a>
"""

REVIEW = """      <article class="review"{id_attr}>
        <header>
          <span class="author">{author}</span>{verified}
          <div class="rating" data-score="{stars}" title="{stars} / 5"><span class="stars" style="width: {width}%"></span><span class="rating-text">{rating_text}</span></div>
          <span class="review-date">{date}</span>
        </header>
        <ul class="reviewer">
          <li class="age">{age}</li>
          <li class="location">{location}</li>
          <li class="hair-type">{hair}</li>
        </ul>
        <div class="review-body">{body}</div>
        <footer class="review-actions"><button>{helpful}</button> <a href="/account/login.html">{report}</a></footer>
      </article>
"""

TAIL = """{pager}    </section>
  </main>
  <aside class="sidebar"><h3>{also}</h3><a href="/index.html">AquaSilk</a></aside>
  <footer>© 2026 Lumen Hair Co.</footer>
</body>
</html>
"""


def page(
    path,
    *,
    lang,
    title,
    price,
    reviews,
    words,
    meta='  <meta charset="utf-8">\n',
    pager="",
    encoding="utf-8",
):
    html = HEAD.format(
        lang=lang, meta=meta, title=title, price=price, canonical="/" + path, **words
    )
    for r in reviews:
        r = dict(r)
        r["id_attr"] = f' id="{r.pop("id")}"' if r.get("id") else ""
        r.pop("id", None)
        r["verified"] = (
            f'\n          <span class="verified">{words["verified"]}</span>'
            if r.pop("is_verified", False)
            else ""
        )
        r["width"] = r["stars"] * 20
        r["body"] = "".join(f"<p>{p}</p>" for p in r["body"])
        html += REVIEW.format(helpful=words["helpful"], report=words["report"], **r)
    html += TAIL.format(pager=pager, also=words["also"])
    if encoding == "shift_jis":  # characters Shift_JIS does not have
        html = html.replace(" — ", "｜").replace("©", "(c)")
    (HERE / path).write_bytes(html.encode(encoding))


EN = dict(
    buy="Add to cart",
    heading="Customer reviews",
    newest="Newest first",
    verified="Verified buyer",
    helpful="Helpful",
    report="Report",
    also="You may also like",
)

page(
    "products/aquasilk-shampoo.html",
    lang="en",
    title="AquaSilk Shampoo",
    price="$14.90",
    words=EN,
    pager='      <a class="next" href="aquasilk-shampoo-reviews-2.html">More reviews →</a>\n',
    reviews=[
        dict(
            id="rev-1001",
            author="Maya R.",
            is_verified=True,
            stars=5,
            rating_text="5 out of 5 stars",
            date="3 days ago",
            age="25-34",
            location="UK",
            hair="curly",
            body=[
                "AquaSilk made my curls soft and defined without weighing them down.",
                "The scent is light and lasts all day.",
            ],
        ),
        dict(
            id="rev-1002",
            author="Jonas P.",
            stars=2,
            rating_text="2 out of 5 stars",
            date="November 21, 2026",
            age="45-54",
            location="US-West",
            hair="straight",
            body=[
                "Lathers nicely but it left my scalp itchy after the third wash. I went back to SilkPro."
            ],
        ),
        dict(
            author="Priya K.",
            is_verified=True,
            stars=4,
            rating_text="4 out of 5 stars",
            date="yesterday",
            age="35-44",
            location="US-East",
            hair="wavy",
            body=["Lovely shine. I wish it came in a bigger bottle for the price."],
        ),
        dict(
            id="rev-1004",
            author="Sam O.",
            stars=3,
            rating_text="3 out of 5 stars",
            date="2 weeks ago",
            age="18-24",
            location="EU",
            hair="straight",
            body=["It's fine. Not better than HairGlow, not worse either."],
        ),
    ],
)

page(
    "products/aquasilk-shampoo-reviews-2.html",
    lang="en",
    title="AquaSilk Shampoo",
    price="$14.90",
    words=EN,
    pager='      <a class="prev" href="aquasilk-shampoo.html">← Newer reviews</a>\n',
    reviews=[
        dict(
            id="rev-1005",
            author="Lena W.",
            is_verified=True,
            stars=5,
            rating_text="5 out of 5 stars",
            date="November 20, 2026",
            age="25-34",
            location="US-East",
            hair="coily",
            body=["Bought it on launch day and I am hooked.", "Softest my hair has felt in years!"],
        ),
        dict(
            id="rev-1006",
            author="Chris D.",
            stars=1,
            rating_text="1 out of 5 stars",
            date="5 days ago",
            age="35-44",
            location="UK",
            hair="wavy",
            body=[
                "The pump broke on day one and the bottle leaked all over my bag. Terrible packaging."
            ],
        ),
    ],
)

DE = dict(
    buy="In den Warenkorb",
    heading="Kundenbewertungen",
    newest="Neueste zuerst",
    verified="Verifizierter Kauf",
    helpful="Hilfreich",
    report="Melden",
    also="Das könnte Ihnen gefallen",
)
page(
    "products/aquasilk-conditioner.html",
    lang="de",
    title="AquaSilk Spülung",
    price="12,90 €",
    words=DE,
    reviews=[
        dict(
            id="rev-2001",
            author="Katrin M.",
            stars=4,
            rating_text="4 von 5 Sternen",
            date="vor 2 Tagen",
            age="45-54",
            location="EU",
            hair="wavy",
            body=["Die Spülung macht das Haar schön geschmeidig, der Duft ist angenehm dezent."],
        ),
        dict(
            id="rev-2002",
            author="Tobias H.",
            is_verified=True,
            stars=1,
            rating_text="1 von 5 Sternen",
            date="21. November 2026",
            age="25-34",
            location="EU",
            hair="straight",
            body=["Leider fettet mein Haar schon am nächsten Tag nach. Für mich nichts."],
        ),
        dict(
            id="rev-2003",
            author="Anna B.",
            stars=5,
            rating_text="5 von 5 Sternen",
            date="22. November 2026",
            age="55+",
            location="EU",
            hair="curly",
            body=[],
        ),
    ],
)

FR = dict(
    buy="Ajouter au panier",
    heading="Avis clients",
    newest="Les plus récents",
    verified="Achat vérifié",
    helpful="Utile",
    report="Signaler",
    also="Vous aimerez aussi",
)
page(
    "products/aquasilk-serum-fr.html",
    lang="fr",
    title="Sérum AquaSilk",
    price="24 €",
    words=FR,
    encoding="cp1252",
    meta='  <meta http-equiv="Content-Type" content="text/html; charset=windows-1252">\n',
    reviews=[
        dict(
            id="rev-3001",
            author="Élodie F.",
            is_verified=True,
            stars=5,
            rating_text="5 sur 5 étoiles",
            date="22 novembre 2026",
            age="25-34",
            location="EU",
            hair="curly",
            body=[
                "Très doux – j’adore ! Mes boucles sont « enfin » disciplinées, 24 € bien dépensés."
            ],
        ),
        dict(
            id="rev-3002",
            author="Hélène G.",
            stars=3,
            rating_text="3 sur 5 étoiles",
            date="il y a 4 jours",
            age="35-44",
            location="EU",
            hair="wavy",
            body=["Texture agréable, mais l’odeur est un peu forte à mon goût."],
        ),
    ],
)

JA = dict(
    buy="カートに入れる",
    heading="カスタマーレビュー",
    newest="新しい順",
    verified="購入確認済み",
    helpful="参考になった",
    report="報告する",
    also="おすすめ商品",
)
page(
    "products/aquasilk-mask-ja.html",
    lang="ja",
    title="AquaSilk ヘアマスク",
    price="¥1,980",
    words=JA,
    encoding="shift_jis",
    meta="",  # no <meta charset>: the server's HTTP header names Shift_JIS
    reviews=[
        dict(
            id="rev-4001",
            author="さくら",
            is_verified=True,
            stars=4,
            rating_text="★★★★☆",
            date="2026年11月23日",
            age="25-34",
            location="APAC",
            hair="straight",
            body=["とても良い香りで、髪がさらさらになりました。"],
        ),
        dict(
            id="rev-4002",
            author="ゆうき",
            stars=2,
            rating_text="★★☆☆☆",
            date="2026年11月24日",
            age="35-44",
            location="APAC",
            hair="wavy",
            body=["少し重たい仕上がりで、私の髪には合いませんでした。"],
        ),
    ],
)
