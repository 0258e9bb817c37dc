<?xml version="1.0" encoding="UTF-8"?>
<!--
  tlfgen: stylesheet for the Define-XML 2.1 documents tlfgen writes (sdtm/define.xml,
  adam/define.xml). XSLT 1.0, so a browser (or xsltproc, lxml) renders the document as HTML:
  standards, datasets, variables, value-level metadata with where clauses, codelists, methods
  and comments, each linked by its OID.
-->
<xsl:stylesheet version="1.0"
  xmlns:xsl="http://www.w3.org/1999/XSL/Transform"
  xmlns:odm="http://www.cdisc.org/ns/odm/v1.3"
  xmlns:def="http://www.cdisc.org/ns/def/v2.1"
  xmlns:xlink="http://www.w3.org/1999/xlink"
  exclude-result-prefixes="odm def xlink">

  <xsl:output method="html" encoding="UTF-8" indent="yes" doctype-system="about:legacy-compat"/>

  <xsl:variable name="mdv" select="/odm:ODM/odm:Study/odm:MetaDataVersion"/>
  <xsl:key name="item" match="odm:ItemDef" use="@OID"/>
  <xsl:key name="codelist" match="odm:CodeList" use="@OID"/>
  <xsl:key name="method" match="odm:MethodDef" use="@OID"/>
  <xsl:key name="comment" match="def:CommentDef" use="@OID"/>
  <xsl:key name="valuelist" match="def:ValueListDef" use="@OID"/>
  <xsl:key name="where" match="def:WhereClauseDef" use="@OID"/>
  <xsl:key name="leaf" match="def:leaf" use="@ID"/>

  <xsl:template match="/">
    <html lang="en">
      <head>
        <meta charset="UTF-8"/>
        <title><xsl:value-of select="/odm:ODM/odm:Study/odm:GlobalVariables/odm:StudyName"/> define.xml</title>
        <style>
          body { font-family: sans-serif; font-size: 13px; margin: 1em 2em; }
          table { border-collapse: collapse; margin: 0.5em 0 1.5em 0; }
          th, td { border: 1px solid #999; padding: 2px 6px; vertical-align: top; text-align: left; }
          th { background: #dde4ee; }
          caption { text-align: left; font-weight: bold; font-size: 15px; padding: 4px 0; }
          .nci { color: #555; font-size: 11px; }
          nav a { margin-right: 1em; }
        </style>
      </head>
      <body>
        <h1><xsl:value-of select="/odm:ODM/odm:Study/odm:GlobalVariables/odm:StudyName"/></h1>
        <p><xsl:value-of select="/odm:ODM/odm:Study/odm:GlobalVariables/odm:StudyDescription"/></p>
        <p>Protocol: <xsl:value-of select="/odm:ODM/odm:Study/odm:GlobalVariables/odm:ProtocolName"/>;
          metadata version <xsl:value-of select="$mdv/@OID"/>; created <xsl:value-of select="/odm:ODM/@CreationDateTime"/>
          (Define-XML <xsl:value-of select="$mdv/@def:DefineVersion"/>, context <xsl:value-of select="/odm:ODM/@def:Context"/>)</p>
        <xsl:apply-templates select="$mdv/def:Standards"/>
        <xsl:call-template name="datasets"/>
        <xsl:apply-templates select="$mdv/odm:ItemGroupDef" mode="variables"/>
        <xsl:if test="$mdv/def:ValueListDef">
          <h2 id="valuelevel">Value-level metadata</h2>
          <xsl:apply-templates select="$mdv/def:ValueListDef"/>
        </xsl:if>
        <h2 id="codelists">Codelists</h2>
        <xsl:apply-templates select="$mdv/odm:CodeList"/>
        <h2 id="methods">Methods</h2>
        <table>
          <tr><th>Method</th><th>Type</th><th>Description</th></tr>
          <xsl:for-each select="$mdv/odm:MethodDef">
            <tr id="{@OID}"><td><xsl:value-of select="@Name"/></td><td><xsl:value-of select="@Type"/></td>
              <td><xsl:value-of select="odm:Description/odm:TranslatedText"/></td></tr>
          </xsl:for-each>
        </table>
        <h2 id="comments">Comments</h2>
        <table>
          <tr><th>Comment</th><th>Text</th></tr>
          <xsl:for-each select="$mdv/def:CommentDef">
            <tr id="{@OID}"><td><xsl:value-of select="@OID"/></td>
              <td><xsl:value-of select="odm:Description/odm:TranslatedText"/></td></tr>
          </xsl:for-each>
        </table>
      </body>
    </html>
  </xsl:template>

  <xsl:template match="def:Standards">
    <table>
      <caption>Standards</caption>
      <tr><th>Name</th><th>Type</th><th>Publishing set</th><th>Version</th><th>Status</th></tr>
      <xsl:for-each select="def:Standard">
        <tr id="{@OID}"><td><xsl:value-of select="@Name"/></td><td><xsl:value-of select="@Type"/></td>
          <td><xsl:value-of select="@PublishingSet"/></td><td><xsl:value-of select="@Version"/></td>
          <td><xsl:value-of select="@Status"/></td></tr>
      </xsl:for-each>
    </table>
  </xsl:template>

  <xsl:template name="datasets">
    <table>
      <caption>Datasets</caption>
      <tr><th>Dataset</th><th>Description</th><th>Class</th><th>Structure</th><th>Purpose</th><th>Keys</th>
        <th>Standard</th><th>Location</th><th>Comment</th></tr>
      <xsl:for-each select="$mdv/odm:ItemGroupDef">
        <tr>
          <td><a href="#{@OID}"><xsl:value-of select="@Name"/></a></td>
          <td><xsl:value-of select="odm:Description/odm:TranslatedText"/></td>
          <td><xsl:value-of select="def:Class/@Name"/></td>
          <td><xsl:value-of select="@def:Structure"/></td>
          <td><xsl:value-of select="@Purpose"/></td>
          <td>
            <xsl:for-each select="odm:ItemRef[@KeySequence]">
              <xsl:sort select="@KeySequence" data-type="number"/>
              <xsl:value-of select="key('item', @ItemOID)/@Name"/>
              <xsl:if test="position() != last()">, </xsl:if>
            </xsl:for-each>
          </td>
          <td><xsl:value-of select="$mdv/def:Standards/def:Standard[@OID = current()/@def:StandardOID]/@Name"/>
            <xsl:text> </xsl:text>
            <xsl:value-of select="$mdv/def:Standards/def:Standard[@OID = current()/@def:StandardOID]/@Version"/></td>
          <td><a href="{def:leaf/@xlink:href}"><xsl:value-of select="def:leaf/def:title"/></a></td>
          <td><xsl:value-of select="key('comment', @def:CommentOID)/odm:Description/odm:TranslatedText"/></td>
        </tr>
      </xsl:for-each>
    </table>
  </xsl:template>

  <xsl:template match="odm:ItemGroupDef" mode="variables">
    <table id="{@OID}">
      <caption><xsl:value-of select="@Name"/> (<xsl:value-of select="odm:Description/odm:TranslatedText"/>)</caption>
      <tr><th>Variable</th><th>Label</th><th>Type</th><th>Length</th><th>Mandatory</th><th>Role</th>
        <th>Controlled terms</th><th>Origin</th><th>Method / comment</th></tr>
      <xsl:for-each select="odm:ItemRef">
        <xsl:sort select="@OrderNumber" data-type="number"/>
        <xsl:variable name="it" select="key('item', @ItemOID)"/>
        <tr>
          <td>
            <xsl:value-of select="$it/@Name"/>
            <xsl:if test="$it/def:ValueListRef">
              <br/><a href="#{$it/def:ValueListRef/@ValueListOID}">value level</a>
            </xsl:if>
          </td>
          <td><xsl:value-of select="$it/odm:Description/odm:TranslatedText"/></td>
          <td><xsl:value-of select="$it/@DataType"/></td>
          <td><xsl:value-of select="$it/@Length"/></td>
          <td><xsl:value-of select="@Mandatory"/></td>
          <td><xsl:value-of select="@Role"/></td>
          <td><xsl:apply-templates select="$it/odm:CodeListRef"/></td>
          <td><xsl:apply-templates select="$it/def:Origin"/></td>
          <td>
            <xsl:value-of select="key('method', @MethodOID)/odm:Description/odm:TranslatedText"/>
            <xsl:if test="@MethodOID and $it/@def:CommentOID"><br/></xsl:if>
            <xsl:value-of select="key('comment', $it/@def:CommentOID)/odm:Description/odm:TranslatedText"/>
          </td>
        </tr>
      </xsl:for-each>
    </table>
  </xsl:template>

  <xsl:template match="odm:CodeListRef">
    <a href="#{@CodeListOID}"><xsl:value-of select="key('codelist', @CodeListOID)/@Name"/></a>
  </xsl:template>

  <xsl:template match="def:Origin">
    <xsl:value-of select="@Type"/>
    <xsl:if test="@Source"> (<xsl:value-of select="@Source"/>)</xsl:if>
    <xsl:if test="odm:Description">: <xsl:value-of select="odm:Description/odm:TranslatedText"/></xsl:if>
  </xsl:template>

  <xsl:template match="def:ValueListDef">
    <table id="{@OID}">
      <caption><xsl:value-of select="@OID"/></caption>
      <tr><th>Variable</th><th>Where</th><th>Label</th><th>Type</th><th>Length</th><th>Mandatory</th>
        <th>Controlled terms</th><th>Origin</th><th>Method</th></tr>
      <xsl:for-each select="odm:ItemRef">
        <xsl:variable name="it" select="key('item', @ItemOID)"/>
        <tr>
          <td><xsl:value-of select="$it/@Name"/></td>
          <td>
            <xsl:for-each select="key('where', def:WhereClauseRef/@WhereClauseOID)/odm:RangeCheck">
              <xsl:value-of select="key('item', @def:ItemOID)/@Name"/>
              <xsl:text> </xsl:text><xsl:value-of select="@Comparator"/><xsl:text> </xsl:text>
              <xsl:for-each select="odm:CheckValue">
                <xsl:text>"</xsl:text><xsl:value-of select="."/><xsl:text>"</xsl:text>
                <xsl:if test="position() != last()">, </xsl:if>
              </xsl:for-each>
              <xsl:if test="position() != last()"> and </xsl:if>
            </xsl:for-each>
          </td>
          <td><xsl:value-of select="$it/odm:Description/odm:TranslatedText"/></td>
          <td><xsl:value-of select="$it/@DataType"/></td>
          <td><xsl:value-of select="$it/@Length"/></td>
          <td><xsl:value-of select="@Mandatory"/></td>
          <td><xsl:apply-templates select="$it/odm:CodeListRef"/></td>
          <td><xsl:apply-templates select="$it/def:Origin"/></td>
          <td><xsl:value-of select="key('method', @MethodOID)/odm:Description/odm:TranslatedText"/></td>
        </tr>
      </xsl:for-each>
    </table>
  </xsl:template>

  <xsl:template match="odm:CodeList">
    <table id="{@OID}">
      <caption>
        <xsl:value-of select="@Name"/>
        <xsl:if test="odm:Alias[@Context='nci:ExtCodeID']">
          <span class="nci"> [<xsl:value-of select="odm:Alias/@Name"/>]</span>
        </xsl:if>
        <xsl:if test="@def:IsNonStandard = 'Yes'"><span class="nci"> (sponsor-defined)</span></xsl:if>
      </caption>
      <xsl:choose>
        <xsl:when test="odm:ExternalCodeList">
          <tr><th>Dictionary</th><th>Version</th></tr>
          <tr><td><a href="{odm:ExternalCodeList/@href}"><xsl:value-of select="odm:ExternalCodeList/@Dictionary"/></a></td>
            <td><xsl:value-of select="odm:ExternalCodeList/@Version"/></td></tr>
        </xsl:when>
        <xsl:otherwise>
          <tr><th>Coded value</th><th>Decode</th><th>NCI code</th></tr>
          <xsl:for-each select="odm:CodeListItem | odm:EnumeratedItem">
            <xsl:sort select="@OrderNumber" data-type="number"/>
            <tr>
              <td><xsl:value-of select="@CodedValue"/><xsl:if test="@def:ExtendedValue = 'Yes'"> *</xsl:if></td>
              <td><xsl:value-of select="odm:Decode/odm:TranslatedText"/></td>
              <td class="nci"><xsl:value-of select="odm:Alias/@Name"/></td>
            </tr>
          </xsl:for-each>
        </xsl:otherwise>
      </xsl:choose>
    </table>
  </xsl:template>
</xsl:stylesheet>
